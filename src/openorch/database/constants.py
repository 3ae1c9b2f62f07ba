"""Constants and credentials: named values that processes read at run time."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base
from openorch.database.rows import shown


def describe_encrypted_password(token: str) -> str:
    """'{n} encrypted bytes. {lo}-{hi} decrypted bytes.' for a Fernet token of length n.

    What screens show instead of a password: an estimate of its length from the token's
    (OpenOrchestrator's formula, kept word for word; close for short passwords, rough for
    long ones), never anything about its content.
    """
    length = len(token)
    low = int(((length - 100) / 20) * 16)
    return f"{length} encrypted bytes. {low}-{low + 15} decrypted bytes."


class Constant(Base):
    """A named, plain-text value an admin can change without touching a process."""

    __tablename__ = "Constants"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(1000))
    changed_at: Mapped[datetime] = mapped_column(default=datetime.now, onupdate=datetime.now)

    def to_row_dict(self) -> dict[str, str]:
        """The original's row for this constant (its Constants table)."""
        return {
            "Constant Name": self.name,
            "Value": self.value,
            "Last Changed": shown(self.changed_at),
        }

    def __repr__(self) -> str:
        return f"Constant(name={self.name!r}, value={self.value!r})"


class Credential(Base):
    """A username and a Fernet-encrypted password.

    Objects returned by the data layer hold the *encrypted* token unless decryption was
    asked for explicitly.
    """

    __tablename__ = "Credentials"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    username: Mapped[str] = mapped_column(String(250))
    password: Mapped[str] = mapped_column(String(1000))
    changed_at: Mapped[datetime] = mapped_column(default=datetime.now, onupdate=datetime.now)

    def to_row_dict(self) -> dict[str, str]:
        """The original's row for this credential (its Credentials table)."""
        return {
            "Credential Name": self.name,
            "Username": self.username,
            "Password": self.format_password(),
            "Last Changed": shown(self.changed_at),
        }

    def format_password(self) -> str:
        """The original's description of the stored (encrypted) password's size."""
        return describe_encrypted_password(self.password)

    def __repr__(self) -> str:
        return f"Credential(name={self.name!r}, username={self.username!r})"

"""Constants and credentials: named values that processes read at run time."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base


class Constant(Base):
    """A named, plain-text value an admin can change without touching a process."""

    __tablename__ = "Constants"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(1000))
    changed_at: Mapped[datetime] = mapped_column(default=datetime.now, onupdate=datetime.now)

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

    def __repr__(self) -> str:
        return f"Credential(name={self.name!r}, username={self.username!r})"

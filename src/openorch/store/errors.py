"""The data layer's errors: one small hierarchy, turned into text only at the edges.

Every class is a `ValueError` (openorch's documented contract: "bad input or a missing row
is a ValueError") *and* the class the original OpenOrchestrator 3.0.0 raised in the same
case, so `except` clauses written for either keep catching:

- `NotFound` (no row with this id or name) is also a
  `sqlalchemy.orm.exc.UnmappedInstanceError` (the original's error for deleting a missing
  constant, credential or queue element) and a `sqlalchemy.orm.exc.StaleDataError` (its
  error for saving a deleted trigger); for other lookups it raised plain `ValueError`.
- `Duplicate` (a constant or credential with this name exists) is also a
  `sqlalchemy.exc.IntegrityError`.
- `BadInput` (a value refused before anything is written) is a plain `ValueError`.
- `KeyMismatch` (decrypting with another key) is also a `cryptography.fernet.InvalidToken`.
- `NotConnected` (calling `db_util` before `connect`) is also a `RuntimeError`;
  `NoKey` (a `NotConnected`: encrypting or decrypting without a key) too.

Code decides by class, never by message text. `KeyMismatch` is built on first use, so
importing the data layer does not import `cryptography` (SDK start-up time): modules
loaded by processes refer to it as `errors.KeyMismatch` inside functions, never
`from openorch.store.errors import KeyMismatch` at the top.
"""

from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError, UnmappedInstanceError

__all__ = [
    "BadInput",
    "Duplicate",
    "KeyMismatch",
    "NoKey",
    "NotConnected",
    "NotFound",
    "StoreError",
]


class StoreError(ValueError):
    """Base of every error the data layer raises on purpose; `str()` is the message."""

    def __init__(self, message: str) -> None:
        ValueError.__init__(self, message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,))


class BadInput(StoreError):
    """A value the data layer refuses (wrong type, too long, NUL, unknown status, bad
    cron, bad id...). Nothing was written."""


class NotFound(StoreError, UnmappedInstanceError, StaleDataError):
    """No row with this id or name. Nothing was written."""

    def __init__(self, message: str) -> None:  # the SQLAlchemy bases want other arguments
        StoreError.__init__(self, message)
        self.code = None


class Duplicate(StoreError, IntegrityError):
    """A row with this name already exists. Nothing was written."""

    def __init__(self, message: str) -> None:
        StoreError.__init__(self, message)
        self.code = None  # type: ignore[assignment]
        self.statement = None
        self.params = None
        self.orig = None
        self.ismulti = None
        self.hide_parameters = False
        self.detail = []
        self.connection_invalidated = False


class NotConnected(StoreError, RuntimeError):
    """Something the call needs was not set up (a database connection)."""


class NoKey(NotConnected):
    """No encryption key was given, so credentials cannot be read or written."""


if TYPE_CHECKING:

    class KeyMismatch(StoreError):
        """The key does not match the one the credential was encrypted with (or the
        stored token is damaged). Also a `cryptography.fernet.InvalidToken`."""

else:

    def __getattr__(name: str) -> type:
        if name != "KeyMismatch":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from cryptography.fernet import InvalidToken

        class KeyMismatch(StoreError, InvalidToken):
            """The key does not match the one the credential was encrypted with (or the
            stored token is damaged). Also a `cryptography.fernet.InvalidToken`."""

        KeyMismatch.__module__ = __name__
        KeyMismatch.__qualname__ = "KeyMismatch"
        globals()["KeyMismatch"] = KeyMismatch
        return KeyMismatch

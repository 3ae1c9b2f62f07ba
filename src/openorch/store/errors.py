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

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError, UnmappedInstanceError

__all__ = [
    "AlreadyDecided",
    "BackupError",
    "BackupRefused",
    "BadInput",
    "ConnectError",
    "Contended",
    "CopyFailed",
    "CopyRefused",
    "Duplicate",
    "DuplicateReferenceError",
    "KeyMismatch",
    "LostElementError",
    "MigrationsMissing",
    "NoKey",
    "NotConnected",
    "NotFound",
    "StoreError",
    "TransitionRefused",
    "Unversioned",
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


class DuplicateReferenceError(Duplicate):
    """An element with this reference already exists in a queue with unique references
    (a `Duplicate`, so a `ValueError` and an `IntegrityError` too). Nothing was created."""

    def __init__(self, queue_name: str, references: Sequence[str]) -> None:
        self.queue_name = queue_name
        self.references = tuple(references)
        shown = ", ".join(repr(reference) for reference in self.references[:10])
        more = f" and {len(self.references) - 10} more" if len(self.references) > 10 else ""
        noun = "reference" if len(self.references) == 1 else "references"
        super().__init__(
            f"Queue {queue_name!r} has unique references and already has an element with "
            f"the {noun} {shown}{more}; nothing was created."
        )


class AlreadyDecided(StoreError):
    """Someone else decided this review item first (or it was closed); nothing changed.
    The API answers it with 409."""


class Contended(StoreError):
    """Other processes kept changing the same rows while this call retried; nothing was
    written. Trying again later is the answer."""


class TransitionRefused(StoreError):
    """The trigger's status does not allow this change; the message says why."""


class LostElementError(StoreError, RuntimeError):
    """The element is no longer this run's: it was released (its job ended), finished or
    deleted, or another run took it over. Nothing was written. (A `RuntimeError` as it
    always was, and a `StoreError` like every error of the data layer.)"""


class ConnectError(StoreError):
    """The database could not be opened; the message says why and what to do next."""


class Unversioned(StoreError, RuntimeError):
    """The database has tables but no revision: a person must say whether it is new or
    the original's (`openorch upgrade`). Nothing was changed."""


class MigrationsMissing(StoreError, RuntimeError):
    """openorch's migration scripts are not where the package or the checkout keeps
    them (a broken installation)."""


class CopyRefused(StoreError):
    """The copy cannot start; the message says why and what to do. Nothing was written."""


class CopyFailed(StoreError, RuntimeError):
    """The copy started and failed; its write transaction was rolled back. (A
    `RuntimeError` as it always was.)"""


class BackupError(StoreError):
    """The backup could not be made; nothing was left at the destination."""


class BackupRefused(BackupError):
    """The backup was not started (bad source or destination); nothing was written."""


if TYPE_CHECKING:

    class KeyMismatch(StoreError):
        """The key does not match the one the credential was encrypted with (or the
        stored token is damaged). Also a `cryptography.fernet.InvalidToken`."""

else:

    def __getattr__(name: str) -> type:
        if name != "KeyMismatch":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        # Lazy: cryptography loads on first use (SDK start-up time).
        from cryptography.fernet import InvalidToken

        class KeyMismatch(StoreError, InvalidToken):
            """The key does not match the one the credential was encrypted with (or the
            stored token is damaged). Also a `cryptography.fernet.InvalidToken`."""

        KeyMismatch.__module__ = __name__
        KeyMismatch.__qualname__ = "KeyMismatch"
        globals()["KeyMismatch"] = KeyMismatch
        return KeyMismatch

"""One browser tab's connection to the database.

Each client (browser tab) owns a `Connection`: connecting in one tab never changes what
another tab shows, two admins may look at two databases from one server, and the engine
is disposed when the tab goes away. Tabs ask `connection.store` for the data layer and
get a clear "not connected" error otherwise.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from openorch.crypto import Cipher
from openorch.store import HEAD_REVISION, Store, describe_connection_error, mask
from openorch.store.errors import KeyMismatch


class NotConnectedError(ValueError):
    """Raised when a tab needs the database before the admin connected."""

    def __init__(self) -> None:
        super().__init__("Not connected to a database: open Settings and press Connect.")


@dataclass
class ConnectResult:
    """What a successful connect found out, for the Settings tab to tell the admin."""

    revision: str | None
    warnings: list[str] = field(default_factory=list)

    @property
    def revision_ok(self) -> bool:
        """True when the database is at the revision this openorch expects."""
        return self.revision == HEAD_REVISION


@dataclass
class Connection:
    """The data layer this client talks to (None while disconnected)."""

    _store: Store | None = None
    conn_string: str = ""
    local_path: Path | None = None
    listeners: list[Callable[[], None]] = field(default_factory=list)

    @property
    def connected(self) -> bool:
        """True while a store is open."""
        return self._store is not None

    @property
    def store(self) -> Store:
        """The open data layer.

        Raises:
            NotConnectedError: before Connect (a ValueError, so it shows as a message).
        """
        if self._store is None:
            raise NotConnectedError()
        return self._store

    def connect(self, conn_string: str, key: str, local_path: Path | None = None) -> ConnectResult:
        """Open the database, check the key and the schema; blocking (call off the loop).

        Raises:
            ValueError: invalid key ("Invalid AES key"), malformed string, driver missing,
                server unreachable, login refused, or no openorch tables — each worded so
                the admin knows what to do.
        """
        Cipher(key)  # "Invalid AES key: ..." before touching the database
        try:
            store = Store(conn_string, crypto_key=key)
        except ValueError:
            raise
        except Exception as error:
            raise ValueError(describe_connection_error(error, conn_string)) from error
        try:
            store.ping()
            revision = store.current_revision()
        except Exception as error:
            store.close()
            raise ValueError(describe_connection_error(error, conn_string)) from error
        if revision is None:
            store.close()
            raise ValueError(
                f"The database {mask(conn_string)} has no openorch tables. Create them with: "
                f"openorch upgrade \"{mask(conn_string)}\""
            )
        result = ConnectResult(revision)
        try:
            credentials = store.get_credentials()
            if credentials:
                store.cipher.decrypt(credentials[0].password)
        except KeyMismatch:
            result.warnings.append(
                "The encryption key does not match the credentials in this database: "
                "processes will not be able to read them with this key."
            )
        except Exception:  # an old schema may lack columns; the revision warning covers it
            pass
        self.disconnect()
        self._store = store
        self.conn_string = conn_string
        self.local_path = local_path
        self._notify()
        return result

    def disconnect(self) -> None:
        """Close the store (releasing pooled connections); harmless when not connected."""
        store, self._store = self._store, None
        if store is not None:
            store.close()
            self._notify()

    def _notify(self) -> None:
        for listener in list(self.listeners):
            listener()

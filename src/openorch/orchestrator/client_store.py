"""The data layer one browser tab (a NiceGUI client) talks to.

Each client owns a `ClientStore`: connecting in one tab never changes what another tab
shows, two admins may look at two databases from one server, and the engine is disposed
when the tab goes away. Tabs ask `client_store.store` for the data layer and get a clear
"not connected" error otherwise. (Named apart from SQLAlchemy's `Connection` and the
SDK's `OrchestratorConnection`, which are different things.)
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from openorch.identity import TOKEN_ADMIN, Identity
from openorch.orchestrator import who
from openorch.orchestrator.audited_store import audited
from openorch.roles import check_call
from openorch.store import HEAD_REVISION, ConnectionURL, Store


class NotConnectedError(ValueError):
    """Raised when a tab needs the database before the admin connected."""

    def __init__(self) -> None:
        super().__init__("Not connected to a database: open Settings and press Connect.")


@dataclass
class ConnectResult:
    """What a successful connect found out, for the Settings tab to tell the admin."""

    revision: str | None
    warnings: list[str] = field(default_factory=list)
    #: Whether the key decrypts the database's credentials (None: none to try it on).
    key_matches: bool | None = None

    @property
    def revision_ok(self) -> bool:
        """True when the database is at the revision this openorch expects."""
        return self.revision == HEAD_REVISION


@dataclass
class ClientStore:
    """The data layer this client talks to (None while disconnected)."""

    _store: Store | None = None
    #: Who signed in to the page this store belongs to: every call is checked against
    #: their role (`openorch.roles`).
    identity: Identity = TOKEN_ADMIN
    #: What the store was opened with (the URL from the page's check, or the configured string).
    conn_string: str | ConnectionURL = ""
    local_path: Path | None = None

    @property
    def connected(self) -> bool:
        """True while a store is open."""
        return self._store is not None

    @property
    def store(self) -> Store:
        """The open data layer as the signed-in person may use it: every call checked
        against their role (`openorch.roles`), every write recorded in the audit trail as
        theirs (`audited_store.py`).

        Raises:
            NotConnectedError: before Connect (a ValueError, so it shows as a message).
        """
        if self._store is None:
            raise NotConnectedError()
        return cast(Store, RoleCheckedStore(audited(self._store), self.identity))

    def key_matches(self) -> bool | None:
        """Whether the key decrypts this database's credentials now (None: none to try);
        blocking. Asked again on every refresh of Settings: a credential created after
        Connect changes the answer."""
        return key_match(self.store)

    def connect(
        self, conn_string: str | ConnectionURL, key: str, local_path: Path | None = None
    ) -> ConnectResult:
        """Open the database through the data layer's one entry (`Store.open`); blocking.

        Local mode (`local_path` given) creates or upgrades its database first.

        Raises:
            ValueError: invalid key, malformed string, driver missing, server unreachable,
                login refused, or no openorch tables, each worded so the admin knows what
                to do (a `ConnectError`).
        """
        store = Store.open(conn_string, key, create=local_path is not None)
        result = ConnectResult(store.current_revision(), list(store.open_warnings))
        result.key_matches = key_match(store)
        self.disconnect()
        self._store = store
        self.conn_string = conn_string
        self.local_path = local_path
        return result

    def disconnect(self) -> None:
        """Close the store (releasing pooled connections); harmless when not connected."""
        store, self._store = self._store, None
        if store is not None:
            store.close()


class RoleCheckedStore:
    """The page's data layer seen through a role: every method call is checked
    (`openorch.roles.check_call`) before it runs, so a refused action writes nothing,
    whichever handler, button or hand-made websocket event asked for it. The one place
    the page enforces roles; the call runs with `who.current_identity()` answering its
    identity (also in the worker thread it runs in)."""

    def __init__(self, store: Store, identity: Identity) -> None:
        self._store = store
        self._identity = identity

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if not callable(value):
            return value
        identity = self._identity

        def checked(*args: Any, **kwargs: Any) -> Any:
            check_call(identity, name, args, kwargs)
            with who.acting(identity):
                return value(*args, **kwargs)

        checked.__name__ = name
        return cast(Callable[..., Any], checked)


def key_match(store: Store) -> bool | None:
    """True/False when the key does/does not decrypt a stored credential; None when there
    is no credential to try (or an old schema cannot say)."""
    try:
        if store.get_credentials():
            return store.key_matches()
    except Exception:  # an old schema may lack columns; the revision warning covers it
        return None
    return None

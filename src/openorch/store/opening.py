"""Opening a database: the one way every program connects.

The Orchestrator's Connect button, the Scheduler (headless and window), local mode and
`openorch upgrade` all go through `open_store` (exposed as `Store.open`), so "check the
key, connect, check the tables and the revision" is written once, with one set of
messages that say what to do next.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from openorch.masking import mask
from openorch.private_files import create_private, make_private
from openorch.store.core import HEAD_REVISION
from openorch.store.engine import describe_connection_error, parse_url
from openorch.store.errors import ConnectError, Unversioned
from openorch.store.keys import Cipher

if TYPE_CHECKING:
    from openorch.store import Store


def open_store(
    store_class: "type[Store]",
    database: str | URL | Engine,
    crypto_key: str | bytes | None = None,
    *,
    create: bool = False,
    need_tables: bool = True,
) -> "Store":
    """Check the key, connect, and check the tables and their revision.

    Args:
        store_class: the class to build (`Store.open` is this function as a classmethod,
            so this module need not import the package that imports it).
        database: a connection string (or URL, or an Engine the caller keeps).
        crypto_key: the Fernet key for credentials; None opens without one (upgrade).
        create: create the tables, or upgrade a versioned database that is behind, before
            checking them (local mode, which promises a working database with nothing
            typed). An unversioned database with tables is never touched: that needs a
            person to say whether it is new or legacy (`openorch upgrade`).
        need_tables: refuse a database without openorch's tables (False for `upgrade`).

    Returns:
        An open store; `store.open_warnings` lists what the caller should show (a
        revision other than this version's, a key that does not decrypt the credentials).

    Raises:
        ConnectError: bad key, malformed string, driver missing, server unreachable,
            login refused, or no tables yet.
    """
    # Lazy: Alembic is needed only when creating tables, and costs start-up time.
    from openorch.store import migrate

    if crypto_key is not None:
        try:
            Cipher(crypto_key)  # "Invalid AES key: ..." before touching the database
        except ValueError as error:
            raise ConnectError(str(error)) from error
    label = mask(database.url if isinstance(database, Engine) else database)
    if create and not isinstance(database, Engine):
        _prepare_private_sqlite(database)
    try:
        store = store_class(database, crypto_key=crypto_key)
    except ValueError as error:
        raise ConnectError(str(error)) from error
    except Exception as error:  # a driver that cannot be imported, a bad dialect
        raise ConnectError(describe_connection_error(error, str(label))) from error
    try:
        store.ping()
        if create:
            migrate.ensure_current(store.engine)
        found = store.revisions()
        revision = found.current
    except Exception as error:
        store.close()
        if isinstance(error, Unversioned) and create:
            raise ConnectError(str(error)) from error
        raise ConnectError(describe_connection_error(error, str(label))) from error
    if revision is None and need_tables:
        store.close()
        raise ConnectError(
            f"The database {label} has no openorch tables yet. Create them with: "
            f'openorch upgrade "{label}" --new'
        )
    if found.old_layout:
        store.open_warnings.append(
            "openorch's revision is still in alembic_version, so machines on the original "
            "OpenOrchestrator warn that the version does not match: run "
            f'openorch upgrade "{label}" to move it to openorch_version.'
        )
    elif revision is not None and found.openorch != HEAD_REVISION:
        store.open_warnings.append(
            f"The database is at revision {revision}, this version of openorch expects "
            f"{HEAD_REVISION}: some screens may fail or show wrong figures. If the database "
            f'is older, run openorch upgrade "{label}"; if it is newer, upgrade openorch on '
            "this machine."
        )
    if crypto_key is not None and revision is not None and not store.key_matches():
        store.open_warnings.append(
            "The encryption key does not match the credentials in this database: "
            "processes will not be able to read them with this key."
        )
    return store


def _prepare_private_sqlite(database: str | URL) -> None:
    """Local mode's SQLite file: created owner-only (0600) before SQLite opens it, since
    SQLite gives its -wal and -shm files the database's mode; files an older openorch
    left 0644 are tightened. Database and key file together decrypt every credential.

    An existing file is only `chmod`-ed, never opened: this process may already hold
    connections to it (a page reload opens a new tab's store while the old tab's is
    still open), and closing a descriptor of it would drop this process's SQLite locks
    (see `create_private`)."""
    try:
        url = parse_url(database)
    except ValueError:
        return  # Store() below says what is wrong with it
    if (
        url.get_backend_name() != "sqlite"
        or url.database in (None, "", ":memory:")
        or url.database.startswith("file:")
    ):
        return
    path = Path(url.database)
    if path.parent.is_dir():
        create_private(path)
        for suffix in ("-wal", "-shm", "-journal"):
            make_private(path.with_name(path.name + suffix))

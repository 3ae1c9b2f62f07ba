"""Engine creation and the connection-error messages every program shows.

SQLite gets WAL mode, a busy timeout and `BEGIN IMMEDIATE` for write transactions, so
several processes can share one file without "database is locked" reaching a caller.
"""

import time
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from openorch.masking import mask
from openorch.store.errors import BadInput

#: A parsed connection string (SQLAlchemy's URL), named by the data layer so front ends
#: can speak of one without importing SQLAlchemy.
ConnectionURL = URL

#: How long SQLite waits for another writer inside one statement, in seconds.
SQLITE_BUSY_TIMEOUT = 30.0

#: Execution option that makes a SQLite transaction take the write lock at BEGIN.
IMMEDIATE = "openorch_sqlite_immediate"


def parse_url(conn_string: str | URL) -> URL:
    """Parse a SQLAlchemy connection string.

    Raises:
        ValueError: when the string is not a connection URL.
    """
    if isinstance(conn_string, URL):
        return conn_string
    if not isinstance(conn_string, str):
        raise BadInput(f"The connection string must be a string, not {type(conn_string).__name__}.")
    if not conn_string.strip():
        raise BadInput(
            "The connection string is empty. Give a SQLAlchemy URL such as "
            "sqlite:///orchestrator.db or postgresql+psycopg://user:pass@host/db."
        )
    try:
        return make_url(conn_string.strip())
    except exc.ArgumentError as error:
        raise BadInput(
            f"Malformed connection string {mask(conn_string)!r}: expected a SQLAlchemy URL "
            "such as sqlite:///orchestrator.db, postgresql+psycopg://user:pass@host/db or "
            "mssql+pyodbc://user:pass@server/db?driver=ODBC+Driver+18+for+SQL+Server."
        ) from error


#: Driver connect arguments that bound how long a dead or silent server can hold a caller.
NETWORK_DEFAULTS: dict[str, dict[str, Any]] = {
    "psycopg": {
        "connect_timeout": 10,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    },
    "pyodbc": {"timeout": 10},
}


def _driver_name(url: URL) -> str | None:
    """The DBAPI driver's name; None for an unknown dialect (create_engine explains)."""
    try:
        return url.get_driver_name()
    except (exc.NoSuchModuleError, ImportError):
        return None


def build_engine(conn_string: str | URL, **kwargs: Any) -> Engine:
    """Create an engine with the settings openorch relies on.

    Raises:
        ValueError: malformed URL, or the database driver is not installed.
    """
    url = parse_url(conn_string)
    options: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT}
        if url.database in (None, "", ":memory:"):
            options["poolclass"] = StaticPool
        options["connect_args"] = connect_args
    else:
        defaults = NETWORK_DEFAULTS.get(_driver_name(url) or "", {})
        # Bounded waits: a server that vanishes must not hold a poll or a script for
        # minutes. Values given in the URL's query win.
        options["connect_args"] = {
            name: value for name, value in defaults.items() if name not in url.query
        }
        if url.get_backend_name() == "mssql" and _driver_name(url) == "pyodbc":
            # Bulk queue inserts: one round trip per batch instead of per row.
            options["fast_executemany"] = True
    options.update(kwargs)
    try:
        engine = create_engine(url, **options)
    except exc.NoSuchModuleError as error:
        raise BadInput(
            f"Unknown database dialect in {mask(url)!r}: use sqlite, postgresql+psycopg "
            "or mssql+pyodbc."
        ) from error
    except ImportError as error:
        raise BadInput(driver_missing_message(url, error)) from error
    if url.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    else:
        _ping_idle_connections(engine)
    return engine


#: A pooled connection idle for longer than this is checked before use, in seconds.
IDLE_PING_SECONDS = 5.0


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat idle for a while.

    SQLAlchemy's pool_pre_ping pings on every checkout: a third of the round trips of a
    queue claim. Connections in steady use were just proven alive; one idle across a
    server restart is found dead here, discarded and replaced, so callers do not see it.
    After a disconnect error SQLAlchemy also invalidates the whole pool by itself.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["openorch_checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get("openorch_checked_in")
        if checked_in is None or time.monotonic() - checked_in < IDLE_PING_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()
        except Exception as error:  # any driver error means: not usable
            raise exc.DisconnectionError(f"idle connection is gone: {error}") from error


def driver_missing_message(url: URL, error: BaseException) -> str:
    """Explain which package or system library a dialect needs."""
    backend = url.get_backend_name()
    if backend == "postgresql":
        hint = "install psycopg 3: pip install 'psycopg[binary]>=3.1' (openorch's postgresql extra)"
    elif backend == "mssql":
        hint = (
            "pyodbc needs an ODBC driver manager and Microsoft's 'ODBC Driver 18 for SQL "
            "Server' (on Debian: apt install unixodbc, then Microsoft's msodbcsql18)"
        )
    else:
        hint = "install the database driver named in the connection string"
    return f"The database driver is not installed for {backend} ({error}): {hint}."


def _configure_sqlite(engine: Engine) -> None:
    """WAL, busy timeout, foreign keys, and explicit BEGIN handling for pysqlite."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN, not pysqlite's implicit handling,
        # so write transactions can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


#: What `connection_problem` can answer.
ConnectionProblem = Literal[
    "input", "driver", "login", "sqlite_file", "no_database", "unreachable", "other"
]


def connection_problem(error: BaseException) -> ConnectionProblem:
    """What kind of problem an error met while connecting is. Drivers say it only in
    their message text, so this is the one place that reads it; callers decide by the
    kind (an unreachable server is worth waiting for, a refused login is not)."""
    if isinstance(error, ValueError):
        return "input"
    original = getattr(error, "orig", None)
    lowered = str(original if original is not None else error).lower()
    if (
        isinstance(error, ImportError)
        or "can't open lib" in lowered
        or "data source name not found" in lowered
    ):
        return "driver"
    if (
        "password authentication failed" in lowered
        or "login failed" in lowered
        or ("authentication" in lowered and "failed" in lowered)
    ):
        return "login"
    if "unable to open database file" in lowered:
        return "sqlite_file"
    if "does not exist" in lowered and "database" in lowered:
        return "no_database"
    if isinstance(error, exc.OperationalError | exc.InterfaceError | OSError):
        return "unreachable"
    return "other"


_PROBLEM_WORDS: dict[str, str] = {
    "driver": "The database driver is not installed",
    "login": "Login refused by the database server",
    "sqlite_file": "The SQLite file cannot be opened (does its folder exist?)",
    "no_database": "The database does not exist on the server",
    "unreachable": "The database server is unreachable",
    "other": "Could not use the database",
}


def describe_connection_error(error: BaseException, conn_string: str | URL | None = None) -> str:
    """One sentence an admin can act on, for any error met while connecting (masked:
    drivers echo connection parameters in their errors)."""
    return mask(_describe_connection_error(error, conn_string))


def _describe_connection_error(error: BaseException, conn_string: str | URL | None) -> str:
    problem = connection_problem(error)
    if problem == "input":
        return str(error)
    where = f" ({mask(conn_string)})" if conn_string is not None else ""
    original = getattr(error, "orig", None)
    text = str(original if original is not None else error).strip().splitlines()
    detail = text[0] if text else type(error).__name__
    return f"{_PROBLEM_WORDS[problem]}{where}: {detail}"

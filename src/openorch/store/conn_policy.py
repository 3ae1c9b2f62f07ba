"""What a connection string typed into the Orchestrator's page may ask for.

A database driver acts on its connection string with the server's rights: libpq loads
the shared library named by `sslkey=...:engine`, reads any file named by `sslcert`,
`sslrootcert`, `sslcrl`, `passfile` or a `service` file, and passes `options` to the
server; unixODBC loads whatever library a `DRIVER=` path names; SQLite creates a file
wherever it is pointed. So a string that comes from the browser is held to an
allow-list: plain connection parameters only. Anything else belongs in the
environment (`OpenOrchestratorConnString`) or `openorch o --conn`, which the admin who
starts the server controls; strings from there are not checked.

`check_page_connection_string` is the one check; the Settings tab calls it before
connecting with anything but the configured string (it lives in the data layer because
it reads SQLite's table list, and so that any other front end can use it).
"""

import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import URL

from openorch.masking import mask
from openorch.store.engine import parse_url

#: Query parameters a PostgreSQL URL from the page may carry (libpq keywords that name
#: no file, load nothing and send nothing to the server but the connection itself).
POSTGRESQL_PARAMETERS = frozenset(
    {
        "sslmode",
        "connect_timeout",
        "application_name",
        "target_session_attrs",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "client_encoding",
        "channel_binding",
        "gssencmode",
        "load_balance_hosts",
    }
)

#: Query parameters a SQL Server (pyodbc) URL from the page may carry, lower case;
#: `driver` must also name an installed ODBC driver, never a library path.
MSSQL_PARAMETERS = frozenset(
    {
        "driver",
        "trustservercertificate",
        "encrypt",
        "logintimeout",
        "applicationintent",
        "multisubnetfailover",
        "authentication",
        "hostnameincertificate",
    }
)

#: Backends openorch runs on.
BACKENDS = ("sqlite", "postgresql", "mssql")

_ELSEWHERE = (
    "Set such parameters in the environment (OpenOrchestratorConnString) or with "
    "`openorch o --conn` "
    "instead: connection strings typed into the page may only use plain connection "
    "parameters."
)


def check_page_connection_string(conn_string: str) -> URL:
    """Refuse a connection string from the page that could make the server load code,
    read or create files, or that is not an existing openorch database; return it parsed.

    Raises:
        ValueError: with a message saying what was refused and where to set it instead.
    """
    url = parse_url(conn_string)
    backend = url.get_backend_name()
    if backend not in BACKENDS:
        raise ValueError(
            f"Unsupported database {mask(url)!r}: openorch runs on sqlite, postgresql and mssql."
        )
    if backend == "sqlite":
        _check_sqlite(url)
    elif backend == "postgresql":
        _check_parameters(url, POSTGRESQL_PARAMETERS)
        if url.database and "=" in url.database:
            raise ValueError(
                f"The database name {url.database!r} holds '=' (a libpq parameter list). "
                + _ELSEWHERE
            )
    else:
        _check_parameters(url, MSSQL_PARAMETERS)
        _check_odbc_driver(url)
    return url


def _check_parameters(url: URL, allowed: frozenset[str]) -> None:
    refused = sorted(name for name in url.query if name.lower() not in allowed)
    if refused:
        raise ValueError(
            f"The parameter(s) {', '.join(refused)} are not accepted from this page "
            f"(they can name files or libraries the server would use). {_ELSEWHERE} "
            f"Accepted here: {', '.join(sorted(allowed))}."
        )


def _check_odbc_driver(url: URL) -> None:
    value = url.query.get("driver")
    if value is None:
        return
    names = [value] if isinstance(value, str) else list(value)
    try:
        import pyodbc

        installed = set(pyodbc.drivers())
    except Exception:  # no pyodbc or no driver manager: nothing can be loaded anyway
        installed = set()
    for name in names:
        if name not in installed:
            raise ValueError(
                f"The ODBC driver {name!r} is not an installed driver's name "
                f"(installed: {', '.join(sorted(installed)) or 'none'}). A driver given by "
                f"path is never accepted from this page. {_ELSEWHERE}"
            )


def _check_sqlite(url: URL) -> None:
    if url.query:
        raise ValueError(
            f"SQLite parameters ({', '.join(sorted(url.query))}) are not accepted from this "
            f"page. {_ELSEWHERE}"
        )
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ValueError(
            "Give the path of an existing openorch SQLite database, such as "
            "sqlite:////home/me/openorch.db."
        )
    path = Path(database)
    if not path.is_file():
        raise ValueError(
            f"The SQLite file {database} does not exist. From this page only an existing "
            f"openorch database can be opened; create one with: "
            f'openorch upgrade "sqlite:///{database}"'
        )
    if not is_openorch_sqlite(path):
        raise ValueError(
            f"{database} is not an openorch database (no openorch tables). From this page "
            f"only an existing openorch database can be opened; create or upgrade one "
            f'with: openorch upgrade "sqlite:///{database}"'
        )


def is_openorch_sqlite(path: Path) -> bool:
    """True when `path` is a SQLite file with openorch's tables (opened read-only, so
    nothing is created or changed).

    The file is read through SQLite only, never with `open()`: this process may already
    hold connections to it (the Orchestrator does), and closing any descriptor of a file
    drops every POSIX lock the process holds on it. The next process to close the
    database would then think itself the last, checkpoint and delete the -wal and -shm
    files, and this process's later saves would go into a deleted WAL (issue 22; SQLite's
    "How To Corrupt An SQLite Database File", section 2.2). SQLite itself tracks its
    locks per file across the connections of one process, so a connection of its own is
    safe. A file that is not SQLite fails the query ("file is not a database").
    """
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=5)
        try:
            names = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            connection.close()
    except (OSError, sqlite3.Error):
        return False
    return {"alembic_version", "Triggers"} <= names

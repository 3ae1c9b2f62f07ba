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
connecting with anything but the configured string, and connects with the URL it
returns, which is rebuilt from the checked parts only (it lives in the data layer
because it reads SQLite's table list, and so that any other front end can use it).
"""

import re
import sqlite3
import warnings
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import URL

from openorch.masking import HIDDEN, mask
from openorch.store.engine import parse_url
from openorch.store.errors import BadInput

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


#: Drivers a connection string from the page may name (the backend alone means the same).
PAGE_DRIVERS = {
    "sqlite": ("sqlite", "sqlite+pysqlite"),
    "postgresql": ("postgresql", "postgresql+psycopg"),
    "mssql": ("mssql", "mssql+pyodbc"),
}

#: Connect arguments psycopg may receive besides the allowed query parameters.
_POSTGRESQL_URL_PARTS = frozenset({"host", "port", "dbname", "user", "password"})

#: ODBC keywords SQLAlchemy's pyodbc connector writes from the URL's own parts.
_ODBC_URL_PARTS = frozenset({"server", "database", "uid", "pwd", "trusted_connection", "dsn"})

#: Characters that end or quote an ODBC attribute: a value holding one could smuggle a
#: second `DRIVER=` past the driver manager, so none is accepted anywhere from the page.
_ODBC_SPECIAL = frozenset(";{}")


def check_page_connection_string(conn_string: str | URL) -> URL:
    """Refuse a connection string from the page that could make the server load code,
    read or create files, or that is not an existing openorch database; return the URL
    to connect with.

    What is checked is exactly what is used: the string is parsed once, every query
    key normalised (SQLAlchemy has already undone its percent-encoding; case is folded;
    a key given twice, in any spelling, is refused), a new URL is built from the
    accepted parts only, and the connect arguments the database driver would receive
    from that URL are checked again. The caller must connect with the returned URL,
    never with the string it passed in.

    Raises:
        ValueError: with a message saying what was refused and where to set it instead.
    """
    url = parse_url(conn_string)
    backend = url.get_backend_name()
    if backend not in BACKENDS:
        raise BadInput(
            f"Unsupported database {mask(url)!r}: openorch runs on sqlite, postgresql and mssql."
        )
    if url.drivername not in PAGE_DRIVERS[backend]:
        raise BadInput(
            f"Unknown database dialect in {mask(url)!r} for this page: use sqlite, "
            f"postgresql+psycopg or mssql+pyodbc. {_ELSEWHERE}"
        )
    _check_characters(url)
    _check_host(url.host)
    _check_user_name(url.username)
    query = normalised_query(url)
    if backend == "sqlite":
        _check_sqlite(url, query)
    elif backend == "postgresql":
        _check_parameters(query, POSTGRESQL_PARAMETERS)
        _check_postgresql_database(url.database)
    else:
        _check_parameters(query, MSSQL_PARAMETERS)
        _check_odbc_values(url, query)
        if "driver" in query:
            check_odbc_driver(query["driver"])
    checked = URL.create(
        url.drivername,
        username=url.username,
        password=url.password,
        host=url.host,
        port=url.port,
        database=url.database,
        query=query,
    )
    _check_connect_arguments(checked)
    return checked


def normalised_query(url: URL) -> dict[str, str]:
    """The URL's query with lower-case keys and one value each.

    SQLAlchemy has decoded percent-encoding in keys and values already (`%44RIVER` is
    `DRIVER`); folding case makes `DRIVER`, `Driver` and `driver` the one key they are
    to the ODBC driver manager. A key given twice, in any spelling, is refused: which
    value a driver would take is not something to guess.

    Raises:
        ValueError: a key given more than once.
    """
    query: dict[str, str] = {}
    for name, value in url.query.items():
        key = name.strip().lower()
        values = [value] if isinstance(value, str) else list(value)
        if key in query or len(values) != 1:
            raise BadInput(
                f"The parameter {key!r} is given more than once (in any spelling). Give "
                f"each parameter once."
            )
        query[key] = values[0]
    return query


def _check_characters(url: URL) -> None:
    """No control character in any part: a NUL ends a C string early, so the driver
    would read something other than what was checked."""
    parts = [url.username, url.password, url.host, url.database]
    for name, value in url.query.items():
        parts.append(name)
        parts.extend([value] if isinstance(value, str) else value)
    for part in parts:
        if part is not None and any(ord(char) < 32 or ord(char) == 127 for char in part):
            raise BadInput(
                "The connection string holds a control character. Type it again without one."
            )


#: A host from the page: a name, an address, a libpq host list (`a,b`) or a SQL Server
#: named instance (`host\\SQLEXPRESS`); nothing a driver could read as another keyword.
_HOST = re.compile(r"[A-Za-z0-9._:,\\-]+")


def _check_host(host: str | None) -> None:
    if host is not None and not _HOST.fullmatch(host):
        raise BadInput(f"The host {host!r} is not a host name or address. {_ELSEWHERE}")


def _check_user_name(user: str | None) -> None:
    """A user name holds no '=' or ';': drivers that read `key=value` lists (libpq's
    conninfo, ODBC) must never see one that looks like another keyword."""
    if user is not None and ("=" in user or ";" in user):
        raise BadInput(f"The user name {user!r} holds '=' or ';'. {_ELSEWHERE}")


def _check_parameters(query: dict[str, str], allowed: frozenset[str]) -> None:
    refused = sorted(name for name in query if name not in allowed)
    if refused:
        raise BadInput(
            f"The parameter(s) {', '.join(refused)} are not accepted from this page "
            f"(they can name files or libraries the server would use). {_ELSEWHERE} "
            f"Accepted here: {', '.join(sorted(allowed))}."
        )


def _check_postgresql_database(database: str | None) -> None:
    """libpq reads a database name holding '=' or starting with a URI prefix as a whole
    parameter list (`dbname='x sslkey=...'`)."""
    if database and "=" in database:
        raise BadInput(
            f"The database name {database!r} holds '=' (a libpq parameter list). " + _ELSEWHERE
        )
    if database and database.lower().startswith(("postgresql:", "postgres:")):
        raise BadInput(
            f"The database name {database!r} is a connection URI of its own. " + _ELSEWHERE
        )


def _check_odbc_values(url: URL, query: dict[str, str]) -> None:
    """No ';', '{' or '}' in any part of an ODBC URL: the connector writes the parts into
    one `key=value;` string, and such a character could end a value and start a
    `DRIVER=` of its own."""
    parts = {
        "user name": url.username,
        "password": url.password,
        "server": url.host,
        "database": url.database,
        **query,
    }
    if url.database and "=" in url.database:
        raise BadInput(
            f"The database name {url.database!r} holds '=', which ODBC reads as an "
            f"attribute of its own. {_ELSEWHERE}"
        )
    for name, value in parts.items():
        if value is not None and _ODBC_SPECIAL & set(value):
            raise BadInput(
                f"The {name} holds ';', '{{' or '}}', which could end an ODBC attribute "
                f"and start another. {_ELSEWHERE}"
            )


def installed_odbc_drivers() -> set[str]:
    """The driver names registered with the ODBC driver manager (odbcinst.ini)."""
    try:
        # Lazy and optional: pyodbc is installed only for SQL Server.
        import pyodbc

        return set(pyodbc.drivers())
    except Exception:  # no pyodbc or no driver manager: nothing can be loaded anyway
        return set()


def check_odbc_driver(name: str) -> None:
    """An ODBC driver from the page is a name registered with the driver manager, never
    a path: unixODBC loads a `DRIVER=` value it does not know as a library file.

    Raises:
        ValueError: a path, an existing file, or a name the driver manager does not know.
    """
    installed = installed_odbc_drivers()
    looks_like_a_file = "/" in name or "\\" in name or Path(name).exists()
    if looks_like_a_file or name not in installed:
        raise BadInput(
            f"The ODBC driver {name!r} is not an installed driver's name "
            f"(installed: {', '.join(sorted(installed)) or 'none'}). A driver given by "
            f"path is never accepted from this page. {_ELSEWHERE}"
        )


def _check_connect_arguments(url: URL) -> None:
    """Check what the database driver would receive from `url`, as SQLAlchemy's dialect
    computes it: the last word on what a connection from the page may carry."""
    if url.get_backend_name() == "sqlite":
        return
    dialect = url.get_dialect()()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyodbc's "no driver name" warning
        args, kwargs = dialect.create_connect_args(url)
    if url.get_backend_name() == "postgresql":
        unexpected = set(kwargs) - _POSTGRESQL_URL_PARTS - POSTGRESQL_PARAMETERS
        if args or unexpected:
            raise BadInput(
                f"The connection would pass {', '.join(sorted(unexpected)) or 'arguments'} "
                f"to the driver. {_ELSEWHERE}"
            )
        _check_postgresql_database(kwargs.get("dbname"))
        return
    if kwargs or len(args) != 1:
        raise BadInput(f"The connection would pass options to pyodbc. {_ELSEWHERE}")
    for key, value in odbc_attributes(str(args[0])):
        if key not in _ODBC_URL_PARTS | MSSQL_PARAMETERS:
            raise BadInput(f"The ODBC attribute {key!r} is not accepted. {_ELSEWHERE}")
        if key == "driver":
            check_odbc_driver(value.removeprefix("{").removesuffix("}"))
        if key == "dsn" and value not in _odbc_data_sources():
            raise BadInput(
                f"The ODBC data source {value!r} is not one the driver manager knows. " + _ELSEWHERE
            )


def odbc_attributes(connection_string: str) -> list[tuple[str, str]]:
    """An ODBC connection string's `key=value` pairs, keys lower case. Split at every
    ';' regardless of braces: the page accepts no ';' inside a value, so this reads
    the string as strictly as any driver manager could."""
    pairs = []
    for attribute in connection_string.split(";"):
        if attribute.strip():
            key, _equals, value = attribute.partition("=")
            pairs.append((key.strip().lower(), value))
    return pairs


def _odbc_data_sources() -> set[str]:
    try:
        # Lazy and optional: pyodbc is installed only for SQL Server.
        import pyodbc

        return set(pyodbc.dataSources())
    except Exception:  # no pyodbc or no driver manager
        return set()


def _check_sqlite(url: URL, query: dict[str, str]) -> None:
    if query or url.host or url.username or url.password or url.port:
        raise BadInput(
            f"SQLite parameters ({', '.join(sorted(query)) or 'a host part'}) are not "
            f"accepted from this page. {_ELSEWHERE}"
        )
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BadInput(
            "Give the path of an existing openorch SQLite database, such as "
            "sqlite:////home/me/openorch.db."
        )
    path = Path(database)
    if not path.is_file():
        raise BadInput(
            f"The SQLite file {database} does not exist. From this page only an existing "
            f"openorch database can be opened; create one with: "
            f'openorch upgrade "sqlite:///{database}"'
        )
    if not is_openorch_sqlite(path):
        raise BadInput(
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


def with_page_password(url: URL, typed_password: str, current: URL | None) -> URL:
    """`url` with the password the page means: the page never receives a password, so
    it shows `***` in its place and a blank password field means "keep the current one".

    - a password typed into the password field wins;
    - `***` in the URL (the masked form left as shown) means the current connection's
      password, but only for the same server and login: pointing the shown string at
      another host must not send that host the saved password;
    - otherwise the URL's own password (or none) is used.

    Raises:
        ValueError: `***` kept while host, port, user or database kind changed.
    """
    if typed_password:
        return url.set(password=typed_password)
    if url.password != HIDDEN:
        return url
    same_server = current is not None and (
        current.get_backend_name(),
        current.host,
        current.port,
        current.username,
    ) == (url.get_backend_name(), url.host, url.port, url.username)
    if current is None or current.password is None or not same_server:
        raise BadInput(
            "Type the password into the password field: the saved password is only used "
            "again for the server and user it belongs to."
        )
    return url.set(password=current.password)

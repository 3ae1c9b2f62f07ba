"""Issue 23, F1: no spelling of a refused connection parameter reaches the driver.

Hypothesis writes each refused parameter in many ways (any letter case, some letters
percent-encoded, given twice beside an accepted value, in the query, the host, the
database name or the user name, wrapped in `odbc_connect`, on the driver-less
`postgresql://` and `mssql://` too). Every string is either refused by the page's check,
or the connect arguments SQLAlchemy's dialect computes from the URL the check returned
(what the engine is created from) hold none of it. The oracle splits the ODBC string at
every ';' and reads libpq's keyword arguments by name: simpler and stricter than any
driver.
"""

import warnings
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from openorch.store.conn_policy import (
    MSSQL_PARAMETERS,
    POSTGRESQL_PARAMETERS,
    check_page_connection_string,
)

EVIL = "/tmp/openorch-evil/evil.so"

POSTGRESQL_REFUSED = (
    "sslkey",
    "sslcert",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslpassword",
    "passfile",
    "service",
    "options",
    "host",
    "hostaddr",
    "requiressl",
    "krbsrvname",
)
ODBC_REFUSED = (
    "driver",
    "filedsn",
    "savefile",
    "dsn",
    "odbc_connect",
    "ansi",
    "autocommit",
    "unicode_results",
    "odbcinstini",
)

#: What may reach psycopg: the URL's own parts and the accepted parameters.
PG_SAFE = frozenset({"host", "port", "dbname", "user", "password"}) | POSTGRESQL_PARAMETERS
#: What may appear in the ODBC string: the URL's own parts and the accepted parameters.
ODBC_SAFE = (
    frozenset({"server", "database", "uid", "pwd", "trusted_connection"}) | MSSQL_PARAMETERS
) - {"driver"}


@st.composite
def spelled(draw: st.DrawFn, key: str) -> str:
    """`key` in any letter case, with some letters percent-encoded (in hex of any case)."""
    letters = []
    for letter in key:
        if draw(st.booleans()):
            letter = letter.upper()
        if draw(st.integers(0, 4)) == 0:
            code = f"%{ord(letter):02X}"
            letter = code.lower() if draw(st.booleans()) else code
        letters.append(letter)
    return "".join(letters)


@st.composite
def hostile_strings(draw: st.DrawFn) -> str:
    """A connection string carrying one refused parameter, written some way."""
    odbc = draw(st.booleans())
    scheme = draw(
        st.sampled_from(("mssql+pyodbc", "mssql") if odbc else ("postgresql+psycopg", "postgresql"))
    )
    key = draw(st.sampled_from(ODBC_REFUSED if odbc else POSTGRESQL_REFUSED))
    name = draw(spelled(key))
    value = draw(st.sampled_from((EVIL, quote(EVIL, safe=""), "libevil.so", "1", "x:engine")))
    if key == "odbc_connect":
        value = quote(f"DRIVER={EVIL};SERVER=h;DATABASE=db", safe="")
    accepted = "Encrypt=yes" if odbc else "sslmode=require"
    place = draw(st.sampled_from(("query", "twice", "accepted first", "host", "database", "user")))
    pair = f"{name}={value}"
    if place == "query":
        return f"{scheme}://u:pw@h/db?{pair}"
    if place == "twice":
        first = "ODBC+Driver+18+for+SQL+Server" if key == "driver" else "1"
        return f"{scheme}://u:pw@h/db?{key}={first}&{pair}"
    if place == "accepted first":
        return f"{scheme}://u:pw@h/db?{accepted}&{pair}"
    separator = draw(st.sampled_from((";", " ", "&", "?", "%3B")))
    if place == "host":
        return f"{scheme}://u:pw@h{separator}{pair.replace('/', '')}/db"
    if place == "database":
        return f"{scheme}://u:pw@h/db{separator}{pair}"
    return f"{scheme}://u{separator}{pair.replace('/', '')}:pw@h/db"


def connect_arguments(url: Any) -> tuple[Any, dict[str, Any]]:
    """What the engine would hand the DBAPI's connect(), from the dialect itself."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyodbc: "no driver name specified"
        args, kwargs = url.get_dialect()().create_connect_args(url)
    return args, kwargs


def assert_nothing_refused_reaches_the_driver(conn: str) -> None:
    try:
        checked = check_page_connection_string(conn)
    except ValueError:
        return
    args, kwargs = connect_arguments(checked)
    if checked.get_backend_name() == "postgresql":
        assert not args and set(kwargs) <= PG_SAFE, (conn, kwargs)
        assert "=" not in str(kwargs.get("dbname", "")), (conn, kwargs)
        assert not any(EVIL in str(value) for value in kwargs.values()), (conn, kwargs)
        return
    assert not kwargs and len(args) == 1, (conn, args, kwargs)
    for attribute in str(args[0]).split(";"):
        key = attribute.partition("=")[0].strip().lower()
        assert not attribute.strip() or key in ODBC_SAFE, (conn, args)
    assert "evil" not in str(args[0]).lower(), (conn, args)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conn=hostile_strings())
@example(conn="mssql+pyodbc://u:p@h/db?DRIVER=/tmp/openorch-evil/evil.so")
@example(conn="mssql+pyodbc://u:p@h/db?Driver=/tmp/openorch-evil/evil.so")
@example(conn="postgresql://u@h/db?SSLKEY=/tmp/openorch-evil/evil.so:engine")
def test_no_spelling_of_a_refused_parameter_reaches_the_driver(conn: str) -> None:
    assert_nothing_refused_reaches_the_driver(conn)


@pytest.mark.parametrize(
    "conn",
    [
        "postgresql+psycopg://u:pw@h/db?SSLMODE=require&Connect_Timeout=5",
        "postgresql://u:pw@h:5433/db?application_name=orchestrator",
        "mssql+pyodbc://u:pw@h/db?Encrypt=yes&TrustServerCertificate=no",
        "mssql://u:pw@h:1433/db",
    ],
)
def test_plain_strings_pass_and_reach_the_driver_as_checked(conn: str) -> None:
    """The oracle above is not vacuous: plain strings pass the check and are read."""
    checked = check_page_connection_string(conn)
    assert_nothing_refused_reaches_the_driver(conn)
    args, kwargs = connect_arguments(checked)
    assert kwargs or args

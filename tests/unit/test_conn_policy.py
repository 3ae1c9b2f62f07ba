"""Connection strings typed into the Orchestrator's page: plain parameters only."""

import sqlite3
from pathlib import Path

import pytest

from openorch.store.conn_policy import check_page_connection_string

PG = "postgresql+psycopg://robot:pw@db.example:5432/rpa"


@pytest.mark.parametrize(
    "query",
    [
        "sslkey=/tmp/evil.so:engine",
        "sslcert=/etc/ssl/x.pem",
        "sslrootcert=/x",
        "sslcrl=/x",
        "passfile=/home/me/.pgpass",
        "service=prod",
        "options=-c%20log_statement%3Dall",
        "host=/tmp",
        "sslmode=require&SSLKEY=/tmp/evil.so:x",
        "requiressl=1",
    ],
)
def test_file_and_engine_parameters_are_refused_for_postgresql(query: str) -> None:
    with pytest.raises(ValueError, match="not accepted from this page") as error:
        check_page_connection_string(f"{PG}?{query}")
    assert "environment" in str(error.value)


@pytest.mark.parametrize(
    "conn",
    [
        "mssql+pyodbc:///?odbc_connect=DRIVER%3D%2Ftmp%2Fevil.so%3BPWD%3Dx",
        "mssql+pyodbc://u:p@h/db?driver=ODBC+Driver+18&filedsn=/tmp/x.dsn",
        "mssql+pyodbc://u:p@h/db?driver=/tmp/evil.so",
        "mssql+pyodbc://u:p@h/db?driver=libevil.so",
    ],
)
def test_odbc_connect_and_driver_paths_are_refused(conn: str) -> None:
    with pytest.raises(ValueError, match="page"):
        check_page_connection_string(conn)


def test_plain_parameters_are_accepted() -> None:
    check_page_connection_string(
        f"{PG}?sslmode=verify-full&connect_timeout=5&application_name=orchestrator"
    )
    check_page_connection_string("postgresql+psycopg://robot@db.example/rpa")
    check_page_connection_string("mssql+pyodbc://u:p@h/db?Encrypt=yes&TrustServerCertificate=no")


def test_a_libpq_parameter_list_as_database_name_is_refused() -> None:
    with pytest.raises(ValueError, match="'='"):
        check_page_connection_string("postgresql+psycopg://u@h/rpa sslkey=/tmp/evil.so:x")


def test_sqlite_must_be_an_existing_openorch_database(tmp_path: Path) -> None:
    missing = tmp_path / "new.db"
    with pytest.raises(ValueError, match="does not exist"):
        check_page_connection_string(f"sqlite:///{missing}")
    assert not missing.exists()  # nothing created

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ValueError, match="not an openorch database"):
        check_page_connection_string(f"sqlite:///{other}")
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello")
    with pytest.raises(ValueError, match="not an openorch database"):
        check_page_connection_string(f"sqlite:///{text_file}")
    for conn in (
        "sqlite://",
        "sqlite:///:memory:",
        f"sqlite:///{other}?mode=rwc",
        f"sqlite:///file:{other}?uri=true",
    ):
        with pytest.raises(ValueError):
            check_page_connection_string(conn)

    ours = tmp_path / "ours.db"
    connection = sqlite3.connect(ours)
    connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
    connection.execute('CREATE TABLE "Triggers" (id TEXT)')
    connection.commit()
    connection.close()
    check_page_connection_string(f"sqlite:///{ours}")


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="sqlite, postgresql and mssql"):
        check_page_connection_string("mysql+pymysql://u:p@h/db")


# --- issue 23, F1: what is checked is exactly what is used --------------------------

EVIL = "/tmp/openorch-evil/evil.so"


@pytest.mark.parametrize(
    "conn",
    [
        f"mssql+pyodbc://u:p@h/db?DRIVER={EVIL}",
        f"mssql+pyodbc://u:p@h/db?Driver={EVIL}",
        f"mssql+pyodbc://u:p@h/db?dRiVeR={EVIL}",
        f"mssql+pyodbc://u:p@h/db?%44RIVER={EVIL}",
        f"mssql+pyodbc://u:p@h/db?Encrypt=yes&DRIVER={EVIL}",
        f"mssql://u:p@h/db?DRIVER={EVIL}",
        "mssql+pyodbc://u:p@h/db?DRIVER=libevil.so",
        f"mssql+pyodbc://u:p@h/db?FILEDSN={EVIL}",
        f"mssql+pyodbc://u:p@h/db?Odbc_Connect=DRIVER%3D{EVIL}",
        f"mssql+pyodbc://u:p@h;DRIVER={EVIL.replace('/', '')}/db",
        f"mssql+pyodbc://u:p@h/db;DRIVER={EVIL}",
        "mssql+pyodbc://u:p;DRIVER=libevil.so@h/db",
    ],
)
def test_an_odbc_driver_path_in_any_spelling_or_place_is_refused(conn: str) -> None:
    """The attack of issue 23 F1: `?DRIVER=` (any case) passed the check and unixODBC
    loaded the named file into the Orchestrator."""
    with pytest.raises(ValueError):
        check_page_connection_string(conn)


@pytest.mark.parametrize(
    "conn",
    [
        "postgresql+psycopg://u@h/db?sslmode=require&sslmode=disable",
        "postgresql+psycopg://u@h/db?sslmode=require&SSLMODE=disable",
        "mssql+pyodbc://u:p@h/db?Encrypt=yes&encrypt=no",
        "mssql+pyodbc://u:p@h/db?driver=ODBC+Driver+18+for+SQL+Server&DRIVER=/x.so",
    ],
)
def test_a_parameter_given_twice_in_any_spelling_is_refused(conn: str) -> None:
    with pytest.raises(ValueError, match="more than once"):
        check_page_connection_string(conn)


def test_the_checked_url_is_rebuilt_from_normalised_parameters() -> None:
    checked = check_page_connection_string(
        "postgresql+psycopg://u:pw@h:5433/db?SSLMODE=require&Connect_Timeout=5"
    )
    assert dict(checked.query) == {"sslmode": "require", "connect_timeout": "5"}
    assert (checked.username, checked.password, checked.host, checked.port, checked.database) == (
        "u",
        "pw",
        "h",
        5433,
        "db",
    )
    _args, kwargs = checked.get_dialect()().create_connect_args(checked)
    assert kwargs["sslmode"] == "require" and "SSLMODE" not in kwargs


@pytest.mark.parametrize(
    "conn",
    [
        "postgresql+psycopg://u@h/db?sslmode=require%00&x=1",
        "postgresql+psycopg://u@h/db%00x",
        "postgresql+pg8000://u@h/db",
        "postgresql+psycopg://u@h/postgresql:%2F%2Fevil",
    ],
)
def test_control_characters_other_drivers_and_uri_database_names_are_refused(conn: str) -> None:
    with pytest.raises(ValueError):
        check_page_connection_string(conn)


def test_a_driver_name_must_be_registered_and_never_a_file(tmp_path: Path) -> None:
    from openorch.store.conn_policy import check_odbc_driver

    library = tmp_path / "driver"
    library.write_text("")
    for name in (str(library), "libevil.so", "..\\evil.dll", "ODBC Driver 99 for Nothing"):
        with pytest.raises(ValueError, match="not an installed driver"):
            check_odbc_driver(name)


def test_a_registered_driver_is_accepted_and_is_all_that_reaches_odbc(tmp_path: Path) -> None:
    """With a driver registered in odbcinst.ini (its own driver manager configuration, in
    a fresh process: unixODBC reads it once), the page may name it, and the ODBC string
    built from the checked URL holds that one DRIVER and nothing the URL smuggled."""
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "odbcinst.ini").write_text(
        "[ODBC Driver 18 for SQL Server]\nDescription=test\nDriver=/nonexistent/libmsodbcsql.so\n"
    )
    script = (
        "import json, sys\n"
        "from openorch.store.conn_policy import check_page_connection_string\n"
        "out = {}\n"
        "for conn in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        url = check_page_connection_string(conn)\n"
        "        out[conn] = url.get_dialect()().create_connect_args(url)[0][0]\n"
        "    except ValueError as error:\n"
        "        out[conn] = 'refused: ' + str(error)\n"
        "print(json.dumps(out))\n"
    )
    good = "mssql+pyodbc://u:p@h/db?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes"
    conns = [
        good,
        good.replace("driver=", "DRIVER="),
        good + f"&DRIVER={EVIL}",
        good + f"&Driver={EVIL}",
        good.replace("Encrypt=yes", f"Encrypt=yes;DRIVER={EVIL}"),
    ]
    env = {**os.environ, "ODBCSYSINI": str(tmp_path), "ODBCINSTINI": "odbcinst.ini"}
    answer = subprocess.run(
        [sys.executable, "-c", script, json.dumps(conns)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    results = json.loads(answer.stdout)
    for conn in conns[:2]:
        attributes = [part.split("=", 1) for part in results[conn].split(";") if part]
        drivers = [value for key, value in attributes if key.strip().lower() == "driver"]
        assert drivers == ["{ODBC Driver 18 for SQL Server}"], results[conn]
    for conn in conns[2:]:
        assert results[conn].startswith("refused: "), results[conn]


def test_a_blank_password_keeps_the_current_one_for_the_same_server_only() -> None:
    """Issue 23, F3: the page shows `***` for the password. Kept as shown, it means the
    current password, but only for the server and user it belongs to."""
    import sqlalchemy as sa

    from openorch.store.conn_policy import with_page_password

    current = sa.make_url("postgresql+psycopg://robot:Sl/ash Secret@db.example:5432/rpa")
    shown = sa.make_url("postgresql+psycopg://robot:***@db.example:5432/other_db")
    assert with_page_password(shown, "", current).password == "Sl/ash Secret"
    assert with_page_password(shown, "typed", current).password == "typed"
    own = sa.make_url("postgresql+psycopg://robot:own@elsewhere/rpa")
    assert with_page_password(own, "", current).password == "own"
    for elsewhere in (
        "postgresql+psycopg://robot:***@attacker.example:5432/rpa",
        "postgresql+psycopg://robot:***@db.example:6543/rpa",
        "postgresql+psycopg://admin:***@db.example:5432/rpa",
        "mssql+pyodbc://robot:***@db.example:5432/rpa",
    ):
        with pytest.raises(ValueError, match="Type the password"):
            with_page_password(sa.make_url(elsewhere), "", current)
    with pytest.raises(ValueError, match="Type the password"):
        with_page_password(shown, "", None)

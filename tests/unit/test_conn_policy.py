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

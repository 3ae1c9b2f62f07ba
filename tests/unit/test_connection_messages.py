"""The messages every program shows when a database cannot be used: one wording per
cause, whatever machine the test runs on (with or without unixODBC installed)."""

from sqlalchemy.engine import make_url

from openorch.store import describe_connection_error, mask
from openorch.store.engine import driver_missing_message


def test_missing_driver_reads_the_same_from_both_paths() -> None:
    url = make_url("mssql+pyodbc://u:secret@server/db?driver=Nope")
    # A machine without unixODBC fails the import; one with it fails at connect.
    from_import = driver_missing_message(url, ImportError("libodbc.so.2: cannot open"))
    from_connect = describe_connection_error(
        ImportError("libodbc.so.2: cannot open"), "mssql+pyodbc://u:secret@server/db"
    )
    for message in (from_import, from_connect):
        assert message.startswith("The database driver is not installed")
        assert "secret" not in message


def test_mask_hides_the_password_only() -> None:
    assert (
        mask("postgresql+psycopg://rpa:hunter2@db/orch") == "postgresql+psycopg://rpa:***@db/orch"
    )
    assert mask("sqlite:///x.db") == "sqlite:///x.db"

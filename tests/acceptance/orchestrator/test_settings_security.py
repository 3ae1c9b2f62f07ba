"""Issue 23 on the Settings tab: F1 (a connection string from the page loads no library,
in any spelling; the engine is created from the checked URL) and F3 (the page never
receives a database password, even one holding '/', '?', '#' or a space)."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from nicegui.testing.user import User

from openorch.config import ENV_CONN
from support.probe import build_marker_library
from support.ui import one, until

#: Loads the ODBC "driver" named by a path, as unixODBC does for any DRIVER= it does not
#: know, and ignores the (expected) failure.
_ODBC_CONNECT = (
    "import pyodbc, sys\n"
    "try:\n    pyodbc.connect(sys.argv[1], timeout=3)\n"
    "except Exception:\n    pass"
)


def page_text(user: User) -> str:
    """Every element of the page as the browser receives it (JSON), and every
    notification (they travel apart from the elements)."""
    client = user.client
    assert client is not None
    shown = [
        json.dumps(element._to_dict(), default=str, ensure_ascii=False)
        for element in client.elements.values()
    ]
    return "\n".join([*shown, *user.notify.messages])


@pytest.mark.skipif(os.name != "posix", reason="builds a shared library with gcc")
# As in production, SQLAlchemy's "no driver name" is only a warning: as an error (the
# suite's default) it would stop a connection before the driver manager saw it.
@pytest.mark.filterwarnings("ignore:No driver name specified")
async def test_an_odbc_driver_path_from_the_page_loads_nothing(
    user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: `?DRIVER=/path/lib.so` (any case) passed the check, and unixODBC
    loaded the file into the Orchestrator's process."""
    library = build_marker_library(tmp_path)
    # Control: handed to the driver manager, such a DRIVER= does load the file.
    control = tmp_path / "loaded-by-the-control.txt"
    subprocess.run(
        [sys.executable, "-c", _ODBC_CONNECT, f"Server=h;Database=db;DRIVER={library}"],
        env={**os.environ, "OPENORCH_PROBE_MARKER": str(control)},
        timeout=60,
        check=True,
    )
    assert control.read_text() == "loaded\n"

    marker = tmp_path / "loaded-by-the-orchestrator.txt"
    monkeypatch.setenv("OPENORCH_PROBE_MARKER", str(marker))
    await user.open("/")
    base = "mssql+pyodbc://robot:pw@127.0.0.1:1/rpa"
    for conn, refusal in (
        (f"{base}?DRIVER={library}", "not an installed driver"),
        (f"{base}?Driver={library}", "not an installed driver"),
        (f"{base}?%44RIVER={library}", "not an installed driver"),
        (f"mssql://robot:pw@127.0.0.1:1/rpa?DRIVER={library}", "not an installed driver"),
        (f"{base}?Encrypt=yes&encrypt=no&DRIVER={library}", "more than once"),
        (f"{base}?Odbc_Connect=DRIVER%3D{library}", "not accepted from this page"),
        (f"{base};DRIVER={library}", "holds '='"),
        (f"mssql+pyodbc://robot:pw;DRIVER={library.name}@127.0.0.1:1/rpa", "could end an ODBC"),
    ):
        user.notify.messages.clear()
        user.find(marker="settings_conn_input").clear().type(conn)
        user.find(marker="settings_connect_button").click()
        await until(lambda: user.notify.messages, timeout=30)
        assert not marker.exists(), f"{conn} loaded the library: {user.notify.messages}"
        assert any(refusal in message for message in user.notify.messages), user.notify.messages
    await asyncio.sleep(1.0)  # a load would have written the marker by now
    assert not marker.exists()
    assert "Not connected" in one(user, "settings_status_label").text


@pytest.mark.postgres
async def test_the_page_connects_with_the_checked_url_not_the_typed_text(
    user: User, pg_db_url: str
) -> None:
    """`SSLMODE=disable` is checked as `sslmode`; handed to libpq as typed it would be an
    unknown option. Connecting proves the engine got the rebuilt, checked URL."""
    await user.open("/")
    user.find(marker="settings_conn_input").clear().type(f"{pg_db_url}?SSLMODE=disable")
    user.find(marker="settings_connect_button").click()
    await user.should_see("Connected!", retries=100)
    assert "sslmode=disable" in one(user, "settings_status_label").text


#: Passwords SQLAlchemy accepts unencoded in a connection string (issue 23, F3).
AWKWARD_PASSWORD = "Pw1slash/Pw2space Pw3query?Pw4hash#Pw5end"


def with_raw_password(url: str, password: str) -> str:
    """`url` with `password` written in unencoded, as an admin might set it."""
    parsed = sa.make_url(url)
    raw = (
        f"{parsed.drivername}://{parsed.username}:{password}@{parsed.host}:{parsed.port}"
        f"/{parsed.database}"
    )
    assert sa.make_url(raw).password == password  # SQLAlchemy reads it whole
    return raw


def password_pieces(password: str) -> list[str]:
    """Each run of the password between '/', '?', '#' and spaces: none may be shown."""
    for delimiter in "/?#":
        password = password.replace(delimiter, " ")
    return password.split()


@pytest.mark.postgres
async def test_a_configured_password_never_reaches_the_page(
    user: User, monkeypatch: pytest.MonkeyPatch, pg_db_url: str
) -> None:
    # The throwaway server trusts every login: the password is accepted and ignored.
    monkeypatch.setenv(ENV_CONN, with_raw_password(pg_db_url, AWKWARD_PASSWORD))
    await user.open("/")
    shown = one(user, "settings_conn_input").value
    assert ":***@" in shown
    assert one(user, "settings_password_input").value == ""
    for piece in password_pieces(AWKWARD_PASSWORD):
        assert piece not in page_text(user), piece
    user.find(marker="settings_connect_button").click()
    await user.should_see("Connected!", retries=100)  # the server used its own string
    user.find(marker="settings_disconnect_button").click()
    await user.should_see("Disconnected.")
    # The masked string again: the blank password field keeps the configured password.
    user.find(marker="settings_connect_button").click()
    await user.should_see("Connected!", retries=100)
    for piece in password_pieces(AWKWARD_PASSWORD):
        assert piece not in page_text(user), piece


@pytest.mark.postgres
async def test_the_saved_password_is_not_sent_to_another_server(
    user: User, monkeypatch: pytest.MonkeyPatch, pg_db_url: str
) -> None:
    monkeypatch.setenv(ENV_CONN, with_raw_password(pg_db_url, AWKWARD_PASSWORD))
    await user.open("/")
    shown = one(user, "settings_conn_input").value
    elsewhere = shown.replace(sa.make_url(pg_db_url).host or "", "attacker.example")
    user.find(marker="settings_conn_input").clear().type(elsewhere)
    user.find(marker="settings_connect_button").click()
    await user.should_see("Type the password")
    # A typed password is used, and the input is emptied whatever happens next.
    user.find(marker="settings_conn_input").clear().type(shown.replace(":***@", "@"))
    user.find(marker="settings_password_input").type("typed-pw-123")
    user.find(marker="settings_connect_button").click()
    await user.should_see("Connected!", retries=100)
    assert one(user, "settings_password_input").value == ""
    assert "typed-pw-123" not in page_text(user)

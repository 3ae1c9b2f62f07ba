"""Settings tab: pre-filled connect, bad key, bad connection strings, local mode, what a
connection string typed into the page may not do."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nicegui.testing.user import User

from openorch.config import ENV_CONN, ENV_KEY
from openorch.store import Store
from support.probe import build_marker_library, client_certificate, ssl_yes_server
from support.ui import one


async def test_page_opens_on_settings_prefilled_from_environment(
    user: User, orch_env: str, crypto_key: str
) -> None:
    await user.open("/")
    assert one(user, "tab_panels").value == "Settings"
    assert one(user, "header_tabs").value == "Settings"
    assert one(user, "settings_conn_input").value == orch_env
    # The key never reaches the page: the input is empty, a label says where it is from.
    assert one(user, "settings_key_input").value == ""
    assert "the environment variable OpenOrchestratorKey" in one(user, "settings_key_label").text
    assert one(user, "settings_disconnect_button").enabled is False
    for name in ("triggers", "logs", "jobs", "constants", "schedulers", "queues", "settings"):
        one(user, f"tab_{name}")
    one(user, "dark_mode_button")
    one(user, "refresh_button")


async def test_connect_locks_inputs_and_disconnect_unlocks(connected: User) -> None:
    user = connected
    assert one(user, "settings_conn_input").enabled is False
    assert one(user, "settings_key_input").enabled is False
    assert one(user, "settings_connect_button").enabled is False
    user.find(marker="settings_disconnect_button").click()
    await user.should_see("Disconnected.")
    assert one(user, "settings_conn_input").enabled is True
    assert one(user, "settings_connect_button").enabled is True


async def test_connected_says_whether_the_key_matches(connected: User, db: Store) -> None:
    label = one(connected, "settings_key_label").text
    assert "environment variable OpenOrchestratorKey" in label and "no credentials" in label


async def test_a_typed_key_is_write_only(user: User, crypto_key: str, db: Store) -> None:
    db.create_credential("mail", "robot", "secret")
    await user.open("/")
    user.find(marker="settings_key_input").clear().type(crypto_key)
    user.find(marker="settings_connect_button").click()
    await user.should_see("Connected!", retries=100)  # connecting runs off the event loop
    assert one(user, "settings_key_input").value == ""
    label = one(user, "settings_key_label").text
    assert "typed on this page" in label and "it matches" in label
    assert crypto_key not in label


async def test_a_wrong_typed_key_is_reported_as_not_matching(user: User, db: Store) -> None:
    from openorch.crypto import generate_key

    db.create_credential("mail", "robot", "secret")
    await user.open("/")
    user.find(marker="settings_key_input").clear().type(generate_key().decode())
    user.find(marker="settings_connect_button").click()
    await user.should_see("Connected!", retries=100)  # connecting runs off the event loop
    assert "does NOT match" in one(user, "settings_key_label").text


async def test_invalid_key_is_refused(user: User) -> None:
    await user.open("/")
    user.find(marker="settings_key_input").clear().type("not a key")
    user.find(marker="settings_connect_button").click()
    await user.should_see("Invalid AES key")
    assert one(user, "settings_connect_button").enabled is True


async def test_generate_key_fills_the_input(user: User, crypto_key: str) -> None:
    await user.open("/")
    user.find(marker="settings_generate_key_button").click()
    new_key = one(user, "settings_key_input").value
    assert new_key and new_key != crypto_key and len(new_key) == 44


@pytest.mark.parametrize(
    ("conn", "words"),
    [
        ("this is not a url", "Malformed connection string"),
        ("postgresql+nosuchdriver://u:p@127.0.0.1:1/db", "Unknown database dialect"),
        ("postgresql+psycopg://u:notified-pw@127.0.0.1:1/db", "unreachable"),
    ],
)
async def test_bad_connection_string_says_why(user: User, conn: str, words: str) -> None:
    await user.open("/")
    user.find(marker="settings_conn_input").clear().type(conn)
    user.find(marker="settings_connect_button").click()
    await user.should_see(words, retries=100)  # the first psycopg import takes a while
    assert one(user, "settings_connect_button").enabled is True
    # A notification names the server but never the password.
    assert not any("notified-pw" in message for message in user.notify.messages)


async def test_database_without_tables_says_run_upgrade(user: User, tmp_path: Path) -> None:
    await user.open("/")
    user.find(marker="settings_conn_input").clear().type(f"sqlite:///{tmp_path / 'empty.db'}")
    user.find(marker="settings_connect_button").click()
    await user.should_see("openorch upgrade")


async def test_other_tabs_ask_to_connect_first(user: User) -> None:
    await user.open("/")
    user.find(marker="tab_triggers").click()
    await user.should_see("Not connected to a database")


async def test_local_mode_connects_by_itself(
    user: User, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_CONN)
    monkeypatch.delenv(ENV_KEY)
    await user.open("/")
    await user.should_see("Connected!", retries=100)  # creating the database takes a while
    label = one(user, "settings_local_label")
    assert "Local mode" in label.text and str(tmp_path / "home") in label.text
    assert (tmp_path / "home" / "openorch.db").exists()


async def test_connection_string_without_key_is_explained(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_KEY)
    await user.open("/")
    await user.should_see("encryption key")
    assert one(user, "settings_key_input").value == ""


async def test_unexpected_revision_warns_in_a_dialog(user: User, orch_env: str) -> None:
    from sqlalchemy import text

    from openorch.store import build_engine

    engine = build_engine(orch_env)
    with engine.begin() as connection:  # test setup: pretend a database openorch never upgraded
        connection.execute(text("DELETE FROM openorch_version"))
    engine.dispose()
    await user.open("/")
    user.find(marker="settings_connect_button").click()
    await user.should_see("Connected!", retries=100)  # connecting runs off the event loop
    await user.should_see("Unexpected database revision")
    user.find(marker="revision_popup_ok_button").click()


async def test_key_that_does_not_match_the_credentials_warns(user: User, orch_env: str) -> None:
    from openorch.crypto import generate_key
    from openorch.store import Store

    other = Store(orch_env, crypto_key=generate_key())
    other.create_credential("mail", "robot", "secret")
    other.close()
    await user.open("/")
    user.find(marker="settings_connect_button").click()
    await user.should_see("The encryption key does not match")


#: Connects with a libpq connection URI and ignores the (expected) failure.
_CONNECT = (
    "import psycopg, sys\ntry:\n    psycopg.connect(sys.argv[1])\nexcept Exception:\n    pass"
)


@pytest.mark.skipif(os.name != "posix", reason="builds a shared library with gcc")
async def test_the_sslkey_probe_loads_nothing_from_the_page(
    user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = build_marker_library(tmp_path)
    certificate = client_certificate(tmp_path)
    marker = tmp_path / "loaded-by-the-orchestrator.txt"
    with ssl_yes_server() as port:
        probe = (
            f"postgresql+psycopg://robot@127.0.0.1:{port}/rpa?sslmode=require"
            f"&sslcert={certificate}&sslkey={library}:key&connect_timeout=3"
        )
        # Control: handed straight to the driver, the string does load the library (the
        # probe is real; this is what the page allowed before it was checked).
        control = tmp_path / "loaded-by-the-control.txt"
        subprocess.run(
            [sys.executable, "-c", _CONNECT, probe.replace("+psycopg", "")],
            env={**os.environ, "OPENORCH_PROBE_MARKER": str(control)},
            timeout=60,
            check=True,
        )
        assert control.read_text() == "loaded\n"

        monkeypatch.setenv("OPENORCH_PROBE_MARKER", str(marker))
        await user.open("/")
        for conn in (
            probe,
            probe.replace("sslkey=", "SSLKEY="),
            f"postgresql+psycopg://robot@127.0.0.1:{port}/rpa?sslkey={library}:k",
        ):
            user.find(marker="settings_conn_input").clear().type(conn)
            user.find(marker="settings_connect_button").click()
            await user.should_see("not accepted from this page")
            await user.should_see("environment")
        await asyncio.sleep(1.0)  # a load would have written the marker by now
    assert not marker.exists()
    assert one(user, "settings_connect_button").enabled is True
    assert "Not connected" in one(user, "settings_status_label").text


async def test_a_sqlite_path_from_the_page_is_never_created(user: User, tmp_path: Path) -> None:
    target = tmp_path / "folder" / "made-by-the-page.db"
    target.parent.mkdir()
    await user.open("/")
    user.find(marker="settings_conn_input").clear().type(f"sqlite:///{target}")
    user.find(marker="settings_connect_button").click()
    await user.should_see("does not exist")
    assert not target.exists() and list(target.parent.iterdir()) == []


@pytest.mark.postgres
async def test_the_configured_connection_string_is_shown_masked_and_still_used(
    user: User, monkeypatch: pytest.MonkeyPatch, pg_db_url: str
) -> None:
    import sqlalchemy as sa

    # The throwaway server trusts every login, so the password is accepted and ignored.
    with_password = (
        sa.make_url(pg_db_url).set(password="conn-secret-pw").render_as_string(hide_password=False)
    )
    monkeypatch.setenv(ENV_CONN, with_password)
    await user.open("/")
    shown = one(user, "settings_conn_input").value
    assert "conn-secret-pw" not in shown and ":***@" in shown
    user.find(marker="settings_connect_button").click()
    await user.should_see("Connected!", retries=100)  # the server used its own, unmasked string
    assert "conn-secret-pw" not in one(user, "settings_status_label").text

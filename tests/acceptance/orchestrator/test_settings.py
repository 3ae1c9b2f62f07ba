"""Settings tab: pre-filled connect, bad key, bad connection strings, local mode."""

from pathlib import Path

import pytest
from nicegui.testing.user import User

from openorch.config import ENV_CONN, ENV_KEY
from support.ui import one


async def test_page_opens_on_settings_prefilled_from_environment(user: User, orch_env: str,
                                                                  crypto_key: str) -> None:
    await user.open("/")
    assert one(user, "tab_panels").value == "Settings"
    assert one(user, "header_tabs").value == "Settings"
    assert one(user, "settings_conn_input").value == orch_env
    assert one(user, "settings_key_input").value == crypto_key
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
        ("postgresql+psycopg://u:secret@127.0.0.1:1/db", "unreachable"),
    ],
)
async def test_bad_connection_string_says_why(user: User, conn: str, words: str) -> None:
    await user.open("/")
    user.find(marker="settings_conn_input").clear().type(conn)
    user.find(marker="settings_connect_button").click()
    await user.should_see(words)
    assert one(user, "settings_connect_button").enabled is True


async def test_database_without_tables_says_run_upgrade(user: User, tmp_path: Path) -> None:
    await user.open("/")
    user.find(marker="settings_conn_input").clear().type(f"sqlite:///{tmp_path / 'empty.db'}")
    user.find(marker="settings_connect_button").click()
    await user.should_see("openorch upgrade")


async def test_other_tabs_ask_to_connect_first(user: User) -> None:
    await user.open("/")
    user.find(marker="tab_triggers").click()
    await user.should_see("Not connected to a database")


async def test_local_mode_connects_by_itself(user: User, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_CONN)
    monkeypatch.delenv(ENV_KEY)
    await user.open("/")
    await user.should_see("Connected!")
    label = one(user, "settings_local_label")
    assert "Local mode" in label.text and str(tmp_path / "home") in label.text
    assert (tmp_path / "home" / "openorch.db").exists()


async def test_connection_string_without_key_is_explained(user: User,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
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
    await user.should_see("Connected!")
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

"""Fixtures for the Orchestrator tests: a simulated browser user (NiceGUI's `User`)
running `src/openorch/orchestrator/main.py` against a real SQLite database.

The `user` fixture is built here from `nicegui.testing.user_simulation` rather than
`pytest_plugins = ['nicegui.testing.user_plugin']`: pytest only accepts `pytest_plugins`
in the top-level conftest (shared with other suites), and this keeps NiceGUI out of
every other test's process state.
"""

import logging
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nicegui.storage import Storage
from nicegui.testing.user import User
from nicegui.testing.user_simulation import user_simulation

import openorch.orchestrator.main as orchestrator_main
from openorch.config import ENV_CONN, ENV_HOME, ENV_KEY
from openorch.store import Store
from support.ui import sign_in

MAIN_FILE = Path(orchestrator_main.__file__)


@pytest.fixture(scope="session", autouse=True)
def _nicegui_storage() -> Iterator[None]:
    """Keep NiceGUI's storage files out of the working tree."""
    with tempfile.TemporaryDirectory(prefix="openorch-nicegui-") as folder:
        Storage.path = Path(folder)
        yield


@pytest.fixture
def orch_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_db_url: str, crypto_key: str
) -> str:
    """The environment an admin would set: connection string and key (local mode's home
    folder points into tmp_path so no test touches the real per-user folder)."""
    monkeypatch.setenv(ENV_CONN, sqlite_db_url)
    monkeypatch.setenv(ENV_KEY, crypto_key)
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "home"))
    return sqlite_db_url


@pytest.fixture
async def user(orch_env: str, caplog: pytest.LogCaptureFixture) -> AsyncIterator[User]:
    """A simulated user of the Orchestrator, signed in with the token as an admin's
    browser is; fails the test on any ERROR log."""
    async with user_simulation(main_file=MAIN_FILE) as simulated:
        await sign_in(simulated)
        yield simulated
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, f"unexpected ERROR logs: {[r.getMessage() for r in errors]}"


@pytest.fixture
def db(orch_env: str, crypto_key: str) -> Iterator[Store]:
    """The test's own data layer on the same database, to seed and to check."""
    store = Store(orch_env, crypto_key=crypto_key)
    yield store
    store.close()


@pytest.fixture
async def connected(user: User) -> User:
    """A user on the page, connected through the Settings tab."""
    await user.open("/")
    user.find(marker="settings_connect_button").click()
    await user.should_see("Connected!", retries=30)  # a busy machine takes over 0.3 s
    return user

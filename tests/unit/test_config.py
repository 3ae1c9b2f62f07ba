"""Where the connection string and key come from: explicit values, then the environment,
then local mode; and local mode's key file (made once, owner-only)."""

import os
import stat
from pathlib import Path

import pytest

from openorch import config
from openorch.crypto import validate_key


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(config.ENV_CONN, raising=False)
    monkeypatch.delenv(config.ENV_KEY, raising=False)
    monkeypatch.setenv(config.ENV_HOME, str(tmp_path / "home"))


def test_explicit_values_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.ENV_CONN, "sqlite:///from-env.db")
    monkeypatch.setenv(config.ENV_KEY, "env-key")
    resolved = config.resolve("sqlite:///given.db", "given-key")
    assert resolved == config.ConnectionSettings("sqlite:///given.db", "given-key")
    assert config.resolve() == config.ConnectionSettings("sqlite:///from-env.db", "env-key")


@pytest.mark.parametrize(
    ("conn", "key", "missing"),
    [("sqlite:///x.db", None, "encryption key"), (None, "k", "connection string")],
)
def test_half_a_configuration_is_refused_not_completed_from_local_mode(
    conn: str | None, key: str | None, missing: str
) -> None:
    with pytest.raises(ValueError, match=missing):
        config.resolve(conn, key)


def test_nothing_configured_is_local_mode_without_touching_the_database(tmp_path: Path) -> None:
    resolved = config.resolve()
    assert resolved is not None and resolved.local
    assert resolved.database_path == tmp_path / "home" / "openorch.db"
    assert resolved.conn_string == f"sqlite:///{resolved.database_path}"
    # Saying where is config's job; creating the database is the data layer's (Store.open).
    assert not resolved.database_path.exists()
    assert validate_key(resolved.crypto_key)
    assert config.resolve(allow_local=False) is None


def test_local_key_is_made_once_and_readable_only_by_its_owner(tmp_path: Path) -> None:
    first = config.local_key(tmp_path)
    assert config.local_key(tmp_path) == first
    mode = stat.S_IMODE(os.stat(tmp_path / "openorch.key").st_mode)
    assert mode == 0o600


def test_scheduler_prune_flags() -> None:
    """`openorch s --prune KIND=DAYS` becomes the settings' policy; bad ones are refused."""
    import pytest

    from openorch.cli import build_parser
    from openorch.scheduler.config import settings_from_args

    args = build_parser().parse_args(["s", "--prune", "logs=90", "--prune", "jobs=365"])
    settings = settings_from_args(args, "sqlite://", "key")
    assert settings.prune == (("logs", 90), ("jobs", 365))
    for bad in ("logs=0", "logz=3", "logs"):
        args = build_parser().parse_args(["s", "--prune", bad])
        with pytest.raises(ValueError):
            settings_from_args(args, "sqlite://", "key")

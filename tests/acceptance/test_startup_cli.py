"""Starting up as a new admin does (issue 25): a port that is taken is said before
anything else is printed, a Fernet key beginning with "-" is accepted by every `--key`,
and `openorch o` refuses an invalid key at start the way the Scheduler does."""

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from openorch.config import join_key_values
from openorch.crypto import generate_key

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"


def cli(tmp_path: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m openorch ARGS` (or a script) as an admin would, nothing configured
    unless `extra_env` says so."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "OPENORCH_HOME": str(tmp_path / "home"),
    }
    for name in ("OpenOrchestratorConnString", "OpenOrchestratorKey", "PYTEST_CURRENT_TEST"):
        env.pop(name, None)
    env.update(extra_env)
    command = list(args) if args[0].endswith(".py") else ["-m", "openorch", *args]
    return subprocess.run(
        [sys.executable, *command],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another server listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def dash_key() -> str:
    """A valid Fernet key that begins with "-" (about one in 64 do)."""
    while True:
        key = generate_key().decode()
        if key.startswith("-"):
            return key


@pytest.mark.parametrize("command", ["o", "api"])
def test_a_taken_port_is_said_before_anything_is_printed(
    tmp_path: Path, taken_port: int, command: str
) -> None:
    extra = ["-d"] if command == "o" else []
    result = cli(tmp_path, command, *extra, "-p", str(taken_port))
    assert result.returncode != 0
    # No address, no token: they would open the *other* server.
    assert result.stdout == ""
    assert "token" not in result.stderr
    assert f"Port {taken_port} on 127.0.0.1 is already in use" in result.stderr
    assert "-p PORT" in result.stderr
    assert "Errno" not in result.stderr


def test_orchestrator_refuses_an_invalid_key_from_the_environment(tmp_path: Path) -> None:
    result = cli(
        tmp_path,
        "o",
        "-d",
        OpenOrchestratorConnString=f"sqlite:///{tmp_path / 'x.db'}",
        OpenOrchestratorKey="not-a-fernet-key",
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "openorch o: cannot start: Invalid AES key" in result.stderr
    assert "environment variable OpenOrchestratorKey" in result.stderr
    assert "not-a-fernet-key" not in result.stderr  # the key itself is never repeated


@pytest.mark.parametrize("command", ["s", "o"])
def test_a_key_beginning_with_a_dash_is_accepted(
    tmp_path: Path, command: str, taken_port: int
) -> None:
    """Past argparse to the next check: the database has no tables (Scheduler) or the
    port is bad (Orchestrator, which checks the port first and the key then)."""
    key = dash_key()
    database = f"sqlite:///{tmp_path / 'none.db'}"
    if command == "s":
        result = cli(tmp_path, "s", "--headless", "--conn", database, "--key", key)
        assert "has no openorch tables" in result.stderr, result.stderr
    else:
        port = str(taken_port)
        result = cli(tmp_path, "o", "-d", "--conn", database, "--key", key, "-p", port)
        assert f"Port {port} on 127.0.0.1" in result.stderr, result.stderr
    assert "expected one argument" not in result.stderr
    assert key not in result.stderr + result.stdout


def test_example_scripts_accept_a_key_beginning_with_a_dash(tmp_path: Path) -> None:
    key = dash_key()
    database = f"sqlite:///{tmp_path / 'none.db'}"
    script = str(ROOT / "examples" / "setup_example.py")
    result = cli(tmp_path, script, "--conn", database, "--key", key)
    assert "expected one argument" not in result.stderr
    assert "no openorch tables" in result.stderr, result.stderr


def test_help_says_key_equals_for_such_keys(tmp_path: Path) -> None:
    for command in ("o", "s"):
        result = cli(tmp_path, command, "--help")
        assert "--key=KEY" in re.sub(r"\s+", " ", result.stdout), command


def test_only_a_fernet_shaped_value_is_joined() -> None:
    key = dash_key()
    assert join_key_values(["s", "--key", key]) == ["s", f"--key={key}"]
    # A missing value is still a missing value.
    assert join_key_values(["s", "--key", "--conn", "x"]) == ["s", "--key", "--conn", "x"]
    assert join_key_values(["s", "--conn", key]) == ["s", "--conn", key]

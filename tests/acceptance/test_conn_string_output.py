"""Issue 23, F3: a connection string's password holding '/', '?', '#' or a space (which
SQLAlchemy accepts unencoded) is masked in what every program prints: `openorch o`,
`openorch s --headless`, `openorch api` and `openorch upgrade`, whether the database
answers or not."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from openorch.config import ENV_CONN, ENV_HOME, ENV_KEY
from openorch.crypto import generate_key
from support.api_server import free_port

#: Each piece of it must stay out of the output.
PASSWORD = "Pw1slash/Pw2space Pw3query?Pw4hash#Pw5end"
PIECES = ["Pw1slash", "Pw2space", "Pw3query", "Pw4hash", "Pw5end"]


def with_raw_password(url: str) -> str:
    """`url` with PASSWORD written in unencoded, as an admin might set it."""
    parsed = sa.make_url(url)
    raw = (
        f"{parsed.drivername}://{parsed.username or 'robot'}:{PASSWORD}@{parsed.host}:"
        f"{parsed.port}/{parsed.database}"
    )
    assert sa.make_url(raw).password == PASSWORD  # SQLAlchemy reads it whole
    return raw


def run_all(runs: list[tuple[list[str], str]], env: dict[str, str], folder: Path) -> list[str]:
    """Run each `python -m openorch <command>` at once (they are slow to start), each
    until it exits or prints its word; their outputs, in order."""
    processes = []
    for number, (command, _done) in enumerate(runs):
        output = folder / f"{number}-{command[0]}.txt"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "openorch", *command],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=folder,
            )
        processes.append((process, output))
    try:
        deadline = time.monotonic() + 90
        waiting = set(range(len(runs)))
        while waiting and time.monotonic() < deadline:
            for number in list(waiting):
                process, output = processes[number]
                if process.poll() is not None or runs[number][1] in output.read_text(
                    errors="replace"
                ):
                    waiting.discard(number)
            time.sleep(0.1)
        time.sleep(0.5)  # what follows the last line too
    finally:
        for process, _output in processes:
            if process.poll() is None:
                process.terminate()
        for process, _output in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return [output.read_text(errors="replace") for _process, output in processes]


def program_env(folder: Path, conn: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OpenOrchestrator", "PYTEST_CURRENT_TEST"))
    }
    env[ENV_CONN] = conn
    env[ENV_KEY] = generate_key().decode()
    env[ENV_HOME] = str(folder / "home")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def commands(conn: str, *names: str) -> list[tuple[list[str], str]]:
    """The programs named, each with a word it prints once it has said where its
    database is (or why it could not open it)."""
    every = {
        "o": (["o", "-d", "-p", str(free_port())], "Orchestrator running"),
        "s": (["s", "--headless", "--poll-interval", "0.5"], "Database"),
        "api": (["api", "-p", str(free_port())], "API"),
        "upgrade": (["upgrade", conn], "Database"),
    }
    return [every[name] for name in names]


def assert_masked(text: str) -> None:
    for piece in PIECES:
        assert piece not in text, text
    assert ":***@" in text, text


def test_an_unreachable_database_is_named_masked(tmp_path: Path) -> None:
    conn = with_raw_password("postgresql+psycopg://robot@127.0.0.1:9/rpa")
    env = program_env(tmp_path, conn)
    # `openorch o` connects only when a page does: its line is the reachable test's.
    for text in run_all(commands(conn, "s", "api", "upgrade"), env, tmp_path):
        assert_masked(text)


@pytest.mark.postgres
def test_a_reachable_database_is_named_masked(tmp_path: Path, pg_db_url: str) -> None:
    # The throwaway server trusts every login: the password is accepted and ignored.
    conn = with_raw_password(pg_db_url)
    env = program_env(tmp_path, conn)
    for text in run_all(commands(conn, "o", "s", "api"), env, tmp_path):
        assert_masked(text)
        assert "Traceback" not in text, text

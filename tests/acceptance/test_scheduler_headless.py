"""`openorch s --headless` as a real subprocess: configured from the environment, run a
due trigger, stop on SIGINT (twice: kill now), refuse bad settings, and die by SIGKILL
so that another Scheduler reaps its jobs."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from openorch.database import JobStatus, LogLevel, TriggerStatus
from openorch.store import Store
from support.headless import Headless
from support.processes.harness import (
    jobs_of,
    logs_of,
    make_engine,
    poll_until,
    script,
    single_due,
    trigger_status,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")


@pytest.fixture
def headless(tmp_path: Path) -> Iterator[list[Headless]]:
    started: list[Headless] = []
    yield started
    for one in started:
        one.kill()


def _wait(condition: object, timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _pids(pid_file: Path) -> tuple[int, int]:
    _wait(pid_file.exists, what="the sleeper's pid file")
    parent, child = (int(pid) for pid in pid_file.read_text().split())
    return parent, child


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_runs_a_due_trigger_from_the_environment_then_sigint_exits_0(
    db_url: str, crypto_key: str, tmp_path: Path, headless: list[Headless]
) -> None:
    store = Store(db_url, crypto_key=crypto_key)
    trigger_id = single_due(store, script("ok.py"), "from headless")
    started = time.monotonic()
    scheduler = Headless(tmp_path, db_url, crypto_key, "--name", "headless-1")
    headless.append(scheduler)

    try:
        _wait(lambda: trigger_status(store, trigger_id) is TriggerStatus.DONE, 30, "DONE")
    except AssertionError as error:
        raise AssertionError(f"{error}; Scheduler output:\n{scheduler.text()}") from None
    elapsed = time.monotonic() - started
    # "Within a few seconds" at the default poll interval (two interpreter starts included).
    assert elapsed < 20, scheduler.text()

    (job,) = jobs_of(store, trigger_id)
    assert job.status is JobStatus.DONE and job.scheduler_name == "headless-1"
    (log,) = logs_of(store, job.id)
    assert "from headless" in log.log_message and log.job_id == job.id
    scheduler.process.send_signal(signal.SIGINT)
    assert scheduler.finish() == 0, scheduler.text()
    output = scheduler.text()
    assert "Scheduler name: headless-1" in output
    assert "Starting '" in output and "finished (exit 0" in output
    assert "SIGINT received" in output and "Scheduler stopped." in output, output
    assert crypto_key not in output
    store.close()


@pytest.mark.parametrize(
    ("url", "key", "expected"),
    [
        ("sqlite:///{tmp}/x.db", None, "encryption key (--key or OpenOrchestratorKey) is missing"),
        (None, "{key}", "connection string (--conn or OpenOrchestratorConnString) is missing"),
        ("sqlite:///{tmp}/x.db", "not-a-fernet-key", "Invalid AES key"),
        ("nonsense", "{key}", "Malformed connection string"),
        ("sqlite:///{tmp}/empty.db", "{key}", "no openorch tables"),
    ],
)
def test_refuses_to_start_with_a_clear_message(
    crypto_key: str,
    tmp_path: Path,
    headless: list[Headless],
    url: str | None,
    key: str | None,
    expected: str,
) -> None:
    values = {"tmp": tmp_path, "key": crypto_key}
    scheduler = Headless(
        tmp_path, url.format(**values) if url else None, key.format(**values) if key else None
    )
    headless.append(scheduler)
    assert scheduler.finish() == 2
    assert expected in scheduler.text()
    assert "Traceback" not in scheduler.text()


def test_sigint_waits_for_processes_and_a_second_one_kills_them(
    sqlite_db_url: str, crypto_key: str, tmp_path: Path, headless: list[Headless]
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    pid_file = tmp_path / "pids.txt"
    trigger_id = single_due(store, script("sleeper.py"), str(pid_file))
    scheduler = Headless(
        tmp_path,
        None,
        None,
        "--conn",
        sqlite_db_url,
        "--key",
        crypto_key,
        "--poll-interval",
        "0.3",
        "--grace-period",
        "60",
    )
    headless.append(scheduler)
    parent, child = _pids(pid_file)

    scheduler.process.send_signal(signal.SIGINT)
    scheduler.wait_for_output("Stopping: waiting up to 60 s for 1 running process")
    time.sleep(0.5)
    assert scheduler.process.poll() is None and _alive(parent) and _alive(child)

    scheduler.process.send_signal(signal.SIGINT)
    assert scheduler.finish() == 0
    assert not _alive(parent) and not _alive(child)
    assert trigger_status(store, trigger_id) is TriggerStatus.KILLED
    assert jobs_of(store, trigger_id)[0].status is JobStatus.KILLED
    store.close()


def test_sigterm_kills_what_is_left_after_the_grace_period(
    sqlite_db_url: str, crypto_key: str, tmp_path: Path, headless: list[Headless]
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    pid_file = tmp_path / "pids.txt"
    trigger_id = single_due(store, script("sleeper.py"), str(pid_file))
    scheduler = Headless(
        tmp_path, sqlite_db_url, crypto_key, "--poll-interval", "0.3", "--grace-period", "1"
    )
    headless.append(scheduler)
    parent, child = _pids(pid_file)
    scheduler.process.send_signal(signal.SIGTERM)
    assert scheduler.finish() == 0
    assert not _alive(parent) and not _alive(child)
    assert trigger_status(store, trigger_id) is TriggerStatus.KILLED
    job = jobs_of(store, trigger_id)[0]
    messages = [log.log_message for log in store.get_logs(limit=10, job_id=job.id)]
    assert any("grace period of 1 s ran out" in message for message in messages), messages
    store.close()


@pytest.mark.slow  # a fault test with real processes (the everyday run leaves it out)
def test_a_scheduler_killed_by_sigkill_is_reaped_by_another(
    sqlite_db_url: str, crypto_key: str, tmp_path: Path, headless: list[Headless]
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    pid_file = tmp_path / "pids.txt"
    trigger_id = single_due(store, script("sleeper.py"), str(pid_file))
    # The dead Scheduler's own declared timeout decides, whoever reaps it.
    doomed = Headless(
        tmp_path,
        sqlite_db_url,
        crypto_key,
        "--name",
        "doomed",
        "--poll-interval",
        "0.3",
        "--heartbeat-timeout",
        "1",
    )
    headless.append(doomed)
    parent, _child = _pids(pid_file)
    try:
        doomed.process.send_signal(signal.SIGKILL)
        doomed.process.wait(10)
        assert trigger_status(store, trigger_id) is TriggerStatus.RUNNING

        lines: list[str] = []
        survivor = make_engine(sqlite_db_url, crypto_key, store, tmp_path, lines, name="survivor")
        (job,) = jobs_of(store, trigger_id)
        poll_until(survivor, lambda: store.get_job(job.id).status is not JobStatus.RUNNING)

        assert store.get_job(job.id).status is JobStatus.FAILED
        assert trigger_status(store, trigger_id) is TriggerStatus.FAILED
        (log,) = logs_of(store, job.id)
        assert log.log_level is LogLevel.ERROR
        assert "'doomed' stopped sending heartbeats" in log.log_message
        assert any("'doomed' is silent" in line for line in lines)
    finally:
        # The orphaned robot leads its own process group: end it.
        os.killpg(parent, signal.SIGKILL)
    store.close()


def test_with_nothing_configured_it_runs_in_local_mode(
    tmp_path: Path, headless: list[Headless]
) -> None:
    scheduler = Headless(tmp_path, None, None, "--poll-interval", "0.3")
    headless.append(scheduler)
    scheduler.wait_for_output("started; polling every 0.3 s")
    assert f"local mode: {tmp_path / 'home' / 'openorch.db'}" in scheduler.text()
    scheduler.process.send_signal(signal.SIGINT)
    assert scheduler.finish() == 0


def test_the_window_without_a_display_points_to_headless_mode(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["OPENORCH_HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        [sys.executable, "-m", "openorch", "s"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "openorch s --headless" in result.stderr and "Traceback" not in result.stderr


def test_the_engine_does_not_import_tk() -> None:
    code = "import sys, openorch.scheduler.main; print('tkinter' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"

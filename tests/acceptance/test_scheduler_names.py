"""One name, one Scheduler, with real headless Schedulers on one SQLite file: a healthy
holder refuses a second Scheduler (and is left alone), a dead holder on this host is
taken over at once, a holder on "another host" (OPENORCH_SCHEDULER_HOST) is taken over
only once its heartbeat is stale, and `--replace` takes the name from a live Scheduler,
which kills its processes (KILLED) and exits within its heartbeat timeout."""

import contextlib
import os
import platform
import signal
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from openorch.database import JobStatus, LogLevel, TriggerStatus
from openorch.scheduler.config import ENV_HOST, EXIT_NAME_IN_USE
from openorch.store import Store
from support.headless import Headless
from support.processes.harness import jobs_of, logs_of, script, single_due, trigger_status

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")

#: The heartbeat timeout of the Schedulers here: short, so the tests are quick.
TIMEOUT = 3.0


@pytest.fixture
def headless() -> Iterator[list[Headless]]:
    """Schedulers a test started; any still running at the end are killed."""
    started: list[Headless] = []
    yield started
    for one in started:
        if one.process.poll() is None:
            os.kill(one.process.pid, signal.SIGCONT)
        one.kill()


@pytest.fixture
def orphans() -> Iterator[list[int]]:
    """Process groups a test's robots lead; killed at the end whatever happened."""
    groups: list[int] = []
    yield groups
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, schedulers: list[Headless]
) -> None:
    """Wait until `condition()` holds; fail with the Schedulers' output otherwise."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            outputs = "\n---\n".join(one.text()[-3000:] for one in schedulers)
            raise AssertionError(f"timed out after {timeout} s waiting for {what}:\n{outputs}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """Running (a zombie counts as gone)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def scheduler(
    folder: Path,
    url: str,
    key: str,
    name: str,
    *flags: str,
    timeout: float = TIMEOUT,
    host: str | None = None,
) -> Headless:
    """A headless Scheduler under `name` polling every 0.3 s (`host` plays another
    machine)."""
    return Headless(
        folder,
        url,
        key,
        "--name",
        name,
        "--poll-interval",
        "0.3",
        "--heartbeat-timeout",
        str(timeout),
        "--no-watchdog",
        *flags,
        extra_env={ENV_HOST: host} if host else None,
    )


def robot(
    store: Store, folder: Path, name: str, schedulers: list[Headless], orphans: list[int]
) -> tuple[uuid.UUID, int, int]:
    """A due sleeper for Scheduler `name`: (trigger id, its pid, its child's pid) once
    it runs."""
    pid_file = folder / f"pids-{uuid.uuid4().hex[:6]}.txt"
    trigger_id = single_due(store, script("sleeper.py"), str(pid_file), scheduler_whitelist=[name])
    wait_for(pid_file.exists, 30, "the sleeper's pid file", schedulers)
    parent, child = (int(pid) for pid in pid_file.read_text().split())
    orphans.append(parent)
    wait_for(lambda: len(jobs_of(store, trigger_id)) == 1, 10, "the job", schedulers)
    job = jobs_of(store, trigger_id)[0]
    wait_for(lambda: store.get_job(job.id).pid == parent, 10, "the job's pid", schedulers)
    return trigger_id, parent, child


def freeze(one: Headless, database: Path) -> None:
    """SIGSTOP a Scheduler, but never in the middle of a write (it would hold SQLite's
    write lock while stopped): continue it briefly until the file is free."""
    for _ in range(100):
        one.process.send_signal(signal.SIGSTOP)
        probe = sqlite3.connect(database, timeout=0.05)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return
        except sqlite3.OperationalError:
            one.process.send_signal(signal.SIGCONT)
            time.sleep(0.02)
        finally:
            probe.close()
    raise AssertionError("the Scheduler kept the database locked")


def owner(store: Store, name: str) -> uuid.UUID | None:
    """The run that holds `name` now."""
    return next((row.run_id for row in store.get_schedulers() if row.machine_name == name), None)


def test_a_healthy_holder_refuses_a_second_scheduler_and_keeps_running(
    sqlite_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    headless: list[Headless],
    orphans: list[int],
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    holder = scheduler(tmp_path, sqlite_db_url, crypto_key, "vm")
    headless.append(holder)
    holder.wait_for_output("Registered as run")
    trigger_id, parent, child = robot(store, tmp_path, "vm", headless, orphans)
    run_before = owner(store, "vm")

    second = scheduler(tmp_path, sqlite_db_url, crypto_key, "vm")
    headless.append(second)
    assert second.finish() == EXIT_NAME_IN_USE, second.text()
    said = second.text()
    assert f"held by a running Scheduler on machine '{platform.node()}', pid " in said
    assert f"pid {holder.process.pid}" in said
    assert "--replace" in said and "--name" in said
    assert "Registered as run" not in said and "Starting '" not in said

    time.sleep(1)  # a few of the holder's heartbeats: nothing changed for it
    assert holder.process.poll() is None and alive(parent) and alive(child)
    assert owner(store, "vm") == run_before
    assert trigger_status(store, trigger_id) is TriggerStatus.RUNNING
    assert jobs_of(store, trigger_id)[0].status is JobStatus.RUNNING
    assert "took over" not in holder.text() and "Killed" not in holder.text()
    (health,) = store.get_scheduler_health()
    assert health.alive and health.scheduler.run_pid == holder.process.pid
    store.close()


def test_a_dead_holder_on_this_host_is_taken_over_at_once(
    sqlite_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    headless: list[Headless],
    orphans: list[int],
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    # A long heartbeat timeout: only the gone pid can make the takeover quick.
    first = scheduler(tmp_path, sqlite_db_url, crypto_key, "vm", timeout=120)
    headless.append(first)
    trigger_id, parent, child = robot(store, tmp_path, "vm", headless, orphans)
    job = jobs_of(store, trigger_id)[0]
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)

    restarted_at = time.monotonic()
    second = scheduler(tmp_path, sqlite_db_url, crypto_key, "vm", timeout=120)
    headless.append(second)
    second.wait_for_output("Registered as run")
    wait_for(
        lambda: store.get_job(job.id).status is JobStatus.FAILED, 15, "the job FAILED", headless
    )
    wait_for(lambda: not alive(parent) and not alive(child), 10, "the orphan gone", headless)
    elapsed = time.monotonic() - restarted_at
    assert elapsed < 20, "taken over at once, not after the 120 s heartbeat timeout"
    said = second.text()
    assert f"held by a run that is gone (machine '{platform.node()}', pid " in said
    assert f"pid {first.process.pid})" in said and "taken over" in said
    (log,) = logs_of(store, job.id)
    assert log.log_level is LogLevel.ERROR and "'vm' restarted" in log.log_message
    assert "was killed" in log.log_message
    assert store.get_schedulers()[0].run_pid == second.process.pid
    print(f"\n[names] dead holder on this host taken over in {elapsed:.1f} s")
    store.close()


@pytest.mark.slow  # a fault test with real processes (the everyday run leaves it out)
def test_a_holder_on_another_host_is_taken_over_only_when_its_heartbeat_is_stale(
    sqlite_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    headless: list[Headless],
    orphans: list[int],
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    far = scheduler(tmp_path, sqlite_db_url, crypto_key, "vm", host="far-away")
    headless.append(far)
    trigger_id, parent, child = robot(store, tmp_path, "vm", headless, orphans)
    job = jobs_of(store, trigger_id)[0]

    # Its pid cannot be looked at from here: only its (fresh) heartbeat counts.
    early = scheduler(tmp_path, sqlite_db_url, crypto_key, "vm")
    headless.append(early)
    assert early.finish() == EXIT_NAME_IN_USE, early.text()
    assert f"on machine 'far-away', pid {far.process.pid}" in early.text()

    freeze(far, Path(sqlite_db_url.removeprefix("sqlite:///")))  # silent, as if cut off
    stopped_at = time.monotonic()
    time.sleep(TIMEOUT + 0.5)
    late = scheduler(tmp_path, sqlite_db_url, crypto_key, "vm")
    headless.append(late)
    late.wait_for_output("Registered as run")
    assert time.monotonic() - stopped_at > TIMEOUT
    said = late.text()
    assert "held by a run that is gone (machine 'far-away'" in said
    assert "is on another machine and was left alone" in said
    wait_for(
        lambda: store.get_job(job.id).status is JobStatus.FAILED, 10, "the job FAILED", headless
    )
    assert alive(parent), "processes on another machine are not killed from here"

    # The far Scheduler comes back: its name is taken, so it kills its robot and stops.
    far.process.send_signal(signal.SIGCONT)
    assert far.finish(20) == 0, far.text()
    assert "took over the name 'vm'" in far.text()
    wait_for(lambda: not alive(parent) and not alive(child), 10, "its robot gone", headless)
    assert store.get_job(job.id).status is JobStatus.FAILED  # the takeover's word stands
    assert late.process.poll() is None
    assert store.get_schedulers()[0].run_pid == late.process.pid
    store.close()


def test_replace_takes_the_name_and_the_old_scheduler_kills_its_processes_and_exits(
    sqlite_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    headless: list[Headless],
    orphans: list[int],
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    # Room for the kill itself (a tree gets 1 s to terminate) on a loaded machine.
    timeout = 2 * TIMEOUT
    old = scheduler(tmp_path, sqlite_db_url, crypto_key, "vm", timeout=timeout)
    headless.append(old)
    trigger_id, parent, child = robot(store, tmp_path, "vm", headless, orphans)
    job = jobs_of(store, trigger_id)[0]

    new = scheduler(tmp_path, sqlite_db_url, crypto_key, "vm", "--replace")
    headless.append(new)
    new.wait_for_output("Registered as run")
    registered_at = time.monotonic()
    said = new.text()
    assert f"Replaced the running Scheduler on machine '{platform.node()}', pid " in said
    assert f"pid {old.process.pid} under the name 'vm' (--replace)" in said
    assert "1 process(es) of it were set to KILLING" in said

    assert old.finish(timeout + 10) == 0, old.text()
    exited_after = time.monotonic() - registered_at
    assert exited_after < timeout, f"the old Scheduler took {exited_after:.1f} s to exit"
    assert not alive(parent) and not alive(child)
    assert f"on machine '{platform.node()}', pid {new.process.pid} took over" in old.text()
    assert store.get_job(job.id).status is JobStatus.KILLED
    assert trigger_status(store, trigger_id) is TriggerStatus.KILLED
    (log,) = logs_of(store, job.id)
    assert "killed this process and its children" in log.log_message
    # Whichever it noticed first: the trigger set to KILLING, or its heartbeat.
    assert (
        "the trigger was set to KILLING" in log.log_message
        or f"pid {new.process.pid} took over the name 'vm'" in log.log_message
    ), log.log_message
    assert new.process.poll() is None and owner(store, "vm") is not None
    (health,) = store.get_scheduler_health()
    assert health.alive and health.scheduler.run_pid == new.process.pid
    print(f"\n[names] --replace: the old Scheduler exited {exited_after:.1f} s after")
    store.close()


def test_two_schedulers_started_at_once_under_one_name_one_runs(
    db_url: str, crypto_key: str, tmp_path: Path, headless: list[Headless]
) -> None:
    store = Store(db_url, crypto_key=crypto_key)
    pair = [scheduler(tmp_path, db_url, crypto_key, "twin") for _ in range(2)]
    headless.extend(pair)
    wait_for(
        lambda: any(one.process.poll() is not None for one in pair),
        30,
        "one of the two to be refused",
        headless,
    )
    (refused,) = [one for one in pair if one.process.poll() is not None]
    (running,) = [one for one in pair if one is not refused]
    assert refused.process.returncode == EXIT_NAME_IN_USE, refused.text()
    assert f"pid {running.process.pid}" in refused.text()
    running.wait_for_output("Registered as run")
    time.sleep(0.5)
    assert running.process.poll() is None
    assert store.get_schedulers()[0].run_pid == running.process.pid
    running.process.send_signal(signal.SIGTERM)
    assert running.finish() == 0, running.text()
    store.close()

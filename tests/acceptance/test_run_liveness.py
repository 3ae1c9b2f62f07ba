"""Run ownership and liveness with real headless Schedulers on PostgreSQL: a SIGKILL and a
restart under the same name, a run declared dead while alive (SIGSTOP / SIGCONT), robot
clocks 5 minutes off (libfaketime), a crash between begin and launch, and heartbeats
during a slow git clone (a fake ssh that sleeps)."""

import contextlib
import itertools
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psutil
import pytest

from openorch.database import JobStatus, LogLevel, TriggerStatus
from openorch.store import Store
from support.headless import Headless
from support.processes.harness import jobs_of, logs_of, script, single_due, trigger_status

pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals"),
    pytest.mark.postgres,
]

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")

#: How long the Schedulers with wrong clocks must keep their jobs RUNNING (seconds).
SKEW_WATCH = 120.0


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
        time.sleep(0.1)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a parent that never reaps it counts as gone)."""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def pids(pid_file: Path, schedulers: list[Headless]) -> tuple[int, int]:
    """The sleeper's pid and its child's, once it wrote them."""
    wait_for(pid_file.exists, 30, "the sleeper's pid file", schedulers)
    parent, child = (int(pid) for pid in pid_file.read_text().split())
    return parent, child


def only_job(store: Store, trigger_id: uuid.UUID, schedulers: list[Headless]):  # type: ignore[no-untyped-def]
    """The trigger's one job, once it exists."""
    wait_for(lambda: len(jobs_of(store, trigger_id)) == 1, 30, "the job", schedulers)
    return jobs_of(store, trigger_id)[0]


def scheduler(
    tmp_path: Path, url: str, key: str, name: str, *flags: str, env: dict[str, str] | None = None
) -> Headless:
    """A headless Scheduler polling every 0.3 s under `name`."""
    return Headless(
        tmp_path, url, key, "--name", name, "--poll-interval", "0.3", *flags, extra_env=env
    )


def test_sigkill_then_restart_under_the_same_name_ends_the_orphan(
    pg_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    headless: list[Headless],
    orphans: list[int],
) -> None:
    store = Store(pg_db_url, crypto_key=crypto_key)
    pid_file = tmp_path / "pids.txt"
    trigger_id = single_due(store, script("sleeper.py"), str(pid_file))
    first = scheduler(tmp_path, pg_db_url, crypto_key, "robot-1")
    headless.append(first)
    parent, child = pids(pid_file, headless)
    orphans.append(parent)
    job = only_job(store, trigger_id, headless)
    wait_for(lambda: store.get_job(job.id).pid == parent, 10, "the job's pid", headless)
    first_run = store.get_job(job.id).run_id
    assert first_run is not None and store.get_job(job.id).process_started is not None

    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    assert alive(parent) and alive(child), "the robot must outlive its Scheduler here"
    assert trigger_status(store, trigger_id) is TriggerStatus.RUNNING

    restarted_at = time.monotonic()
    second = scheduler(tmp_path, pg_db_url, crypto_key, "robot-1")
    headless.append(second)
    wait_for(
        lambda: store.get_job(job.id).status is JobStatus.FAILED,
        30,
        "the orphaned job FAILED",
        headless,
    )
    wait_for(lambda: not alive(parent) and not alive(child), 10, "the orphan gone", headless)
    elapsed = time.monotonic() - restarted_at
    assert elapsed < 30

    assert trigger_status(store, trigger_id) is TriggerStatus.FAILED
    (log,) = logs_of(store, job.id)
    assert log.log_level is LogLevel.ERROR
    assert "'robot-1' restarted" in log.log_message and "was killed" in log.log_message
    assert "Restarted: job" in second.text()
    (row,) = store.get_schedulers()
    assert row.run_id is not None and row.run_id != first_run
    print(f"\n[liveness] restart under the same name: job FAILED, orphan gone in {elapsed:.1f} s")
    store.close()


def test_a_run_declared_dead_while_alive_stops_its_processes(
    pg_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    headless: list[Headless],
    orphans: list[int],
) -> None:
    store = Store(pg_db_url, crypto_key=crypto_key)
    pid_file = tmp_path / "pids.txt"
    trigger_id = single_due(
        store, script("sleeper.py"), str(pid_file), scheduler_whitelist=["split"]
    )
    split = scheduler(tmp_path, pg_db_url, crypto_key, "split", "--heartbeat-timeout", "3")
    headless.append(split)
    parent, child = pids(pid_file, headless)
    orphans.append(parent)
    job = only_job(store, trigger_id, headless)

    # A network split, as far as the database can tell: the Scheduler falls silent.
    split.process.send_signal(signal.SIGSTOP)
    reaper = scheduler(tmp_path, pg_db_url, crypto_key, "reaper", "--heartbeat-timeout", "3")
    headless.append(reaper)
    wait_for(
        lambda: store.get_job(job.id).status is JobStatus.FAILED,
        30,
        "the silent Scheduler's job reaped",
        headless,
    )
    assert alive(parent), "the reaper cannot reach another machine's processes"

    split.process.send_signal(signal.SIGCONT)
    split.wait_for_output("declared dead", timeout=20)
    wait_for(lambda: not alive(parent) and not alive(child), 15, "its processes stopped", headless)
    wait_for(lambda: split.text().count("Registered as run") == 2, 10, "a new run", headless)

    # Nothing was reported over the reaper's decision.
    assert store.get_job(job.id).status is JobStatus.FAILED
    assert trigger_status(store, trigger_id) is TriggerStatus.FAILED
    (log,) = logs_of(store, job.id)
    assert "'split' stopped sending heartbeats" in log.log_message
    health = {item.scheduler.machine_name: item for item in store.get_scheduler_health()}
    wait_for(
        lambda: all(item.alive for item in store.get_scheduler_health()),
        10,
        "both alive again",
        headless,
    )
    assert set(health) == {"split", "reaper"}
    store.close()


@pytest.mark.slow
@pytest.mark.skipif(not LIBFAKETIME.exists(), reason="needs Debian's libfaketime")
def test_robot_clocks_five_minutes_off_keep_their_jobs_running(
    pg_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    headless: list[Headless],
    orphans: list[int],
) -> None:
    store = Store(pg_db_url, crypto_key=crypto_key)
    clocks = {"behind": "-5m", "ahead": "+5m", "on-time": None}
    triggers = {}
    for name, offset in clocks.items():
        # Due for every clock: ten minutes ago by the test's (the database's) clock.
        triggers[name] = store.create_single_trigger(
            f"wait-{name}",
            f"wait {name}",
            datetime.now() - timedelta(minutes=10),
            script("wait_long.py"),
            "600",
            False,
            False,
            scheduler_whitelist=[name],
        )
        env = None
        if offset is not None:
            env = {
                "LD_PRELOAD": str(LIBFAKETIME),
                "FAKETIME": offset,
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            }
        headless.append(
            scheduler(
                tmp_path,
                pg_db_url,
                crypto_key,
                name,
                "--heartbeat-timeout",
                "30",
                "--exclusive",
                env=env,
            )
        )
    wait_for(
        lambda: len(store.get_jobs(status=JobStatus.RUNNING)) == 3,
        30,
        "three RUNNING jobs",
        headless,
    )
    for job in store.get_jobs():
        wait_for(lambda job=job: store.get_job(job.id).pid is not None, 10, "a pid", headless)
        orphans.append(store.get_job(job.id).pid or 0)

    deadline = time.monotonic() + SKEW_WATCH
    while time.monotonic() < deadline:
        statuses = {name: trigger_status(store, key) for name, key in triggers.items()}
        assert set(statuses.values()) == {TriggerStatus.RUNNING}, statuses
        assert len(store.get_jobs(status=JobStatus.RUNNING)) == 3
        for one in headless:
            assert one.process.poll() is None, one.text()
        time.sleep(2)

    health = {item.scheduler.machine_name: item for item in store.get_scheduler_health()}
    assert all(item.alive for item in health.values()), health
    behind, ahead = health["behind"].notable_clock_offset, health["ahead"].notable_clock_offset
    assert behind is not None and abs(behind + 300) < 15, behind
    assert ahead is not None and abs(ahead - 300) < 15, ahead
    assert health["on-time"].notable_clock_offset is None
    for one in headless:
        assert "was marked FAILED" not in one.text(), one.text()
    print(
        f"\n[liveness] clocks {behind:+.0f} s and {ahead:+.0f} s off: 3 jobs RUNNING for "
        f"{SKEW_WATCH:.0f} s with a 30 s heartbeat timeout"
    )
    store.close()


def _slow_clone_trigger(store: Store, name: str) -> uuid.UUID:
    """A git trigger whose clone hangs for 20 s (GIT_SSH_COMMAND sleeps, then fails)."""
    return store.create_single_trigger(
        f"clone-{name}",
        "slow clone",
        datetime.now() - timedelta(seconds=1),
        "ssh://git.example.invalid/robot.git",
        "",
        True,
        False,
        scheduler_whitelist=[name],
    )


SLOW_SSH = {"GIT_SSH_COMMAND": "sleep 20; exit 1 #"}


@pytest.mark.slow  # a fault test with real processes (the everyday run leaves it out)
def test_heartbeats_flow_during_a_slow_clone(
    pg_db_url: str, crypto_key: str, tmp_path: Path, headless: list[Headless]
) -> None:
    store = Store(pg_db_url, crypto_key=crypto_key)
    trigger_id = _slow_clone_trigger(store, "cloner")
    cloner = scheduler(
        tmp_path, pg_db_url, crypto_key, "cloner", "--heartbeat-timeout", "3", env=SLOW_SSH
    )
    reaper = scheduler(tmp_path, pg_db_url, crypto_key, "reaper", "--heartbeat-timeout", "3")
    headless.extend([cloner, reaper])
    cloner.wait_for_output("Cloning")
    job = only_job(store, trigger_id, headless)

    def last_heartbeat() -> datetime:
        return next(
            row.last_update for row in store.get_schedulers() if row.machine_name == "cloner"
        )

    seen = [last_heartbeat()]
    for _ in range(8):  # 8 s inside the clone: over twice the 3 s heartbeat timeout
        time.sleep(1)
        seen.append(last_heartbeat())
        assert store.get_job(job.id).status is JobStatus.RUNNING, reaper.text()
    assert "Cloning" in cloner.text() and "could not" not in cloner.text().lower()
    assert all(later > earlier for earlier, later in itertools.pairwise(seen)), seen
    health = {item.scheduler.machine_name: item for item in store.get_scheduler_health()}
    assert health["cloner"].alive
    assert "was marked FAILED" not in reaper.text()
    store.close()


def test_a_crash_between_begin_and_launch_leaves_nothing_running(
    pg_db_url: str, crypto_key: str, tmp_path: Path, headless: list[Headless]
) -> None:
    store = Store(pg_db_url, crypto_key=crypto_key)
    trigger_id = _slow_clone_trigger(store, "crasher")
    first = scheduler(tmp_path, pg_db_url, crypto_key, "crasher", env=SLOW_SSH)
    headless.append(first)
    first.wait_for_output("Cloning")
    # Begun and recorded together: the job exists before any launch step runs.
    job = only_job(store, trigger_id, headless)
    assert trigger_status(store, trigger_id) is TriggerStatus.RUNNING
    assert store.get_job(job.id).pid is None
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)

    second = scheduler(tmp_path, pg_db_url, crypto_key, "crasher")
    headless.append(second)
    wait_for(
        lambda: store.get_job(job.id).status is JobStatus.FAILED, 30, "the job FAILED", headless
    )
    assert trigger_status(store, trigger_id) is TriggerStatus.FAILED
    assert store.get_jobs(status=JobStatus.RUNNING) == ()
    running = [t for t in store.get_all_triggers() if t.process_status is TriggerStatus.RUNNING]
    assert running == []
    (log,) = logs_of(store, job.id)
    assert "had not started a process yet" in log.log_message
    store.close()

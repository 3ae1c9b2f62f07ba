"""Faults with real headless Schedulers (`python -m openorch s --headless` subprocesses).

The engine-level versions (tests/test_scheduler_faults.py) drive `SchedulerEngine.poll()`
in threads; these run the CLI a service manager would run, so signals, exit codes, the
printed output and the reconnects of a real process are what is checked:

- several Schedulers waking at the same instant over 100 due single triggers start each
  exactly once;
- a PostgreSQL outage of 15 s while processes run and end: the Scheduler stays up,
  every outcome is recorded once the server is back, and nothing prints a traceback.
"""

import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from openorch import migrate
from openorch.database import JobStatus, LogLevel, TriggerStatus
from openorch.store import Store, build_engine
from support.headless import Headless
from support.pgcluster import PgCluster, create_database
from support.processes.harness import jobs_of, logs_of, script, single_due, trigger_status

pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals"),
    pytest.mark.postgres,
    pytest.mark.slow,
]

SCHEDULERS = 4
TRIGGERS = 100
#: How long the database is down in the outage test (seconds).
OUTAGE = 15.0


@pytest.fixture
def headless() -> Iterator[list[Headless]]:
    """Schedulers a test started; any still running at the end are killed."""
    started: list[Headless] = []
    yield started
    for one in started:
        one.kill()


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, schedulers: list[Headless]
) -> None:
    """Wait until `condition()` holds; fail with the Schedulers' output otherwise."""
    deadline = time.monotonic() + timeout
    while not condition():
        for one in schedulers:
            assert one.process.poll() is None, f"a Scheduler exited:\n{one.text()}"
        if time.monotonic() > deadline:
            outputs = "\n---\n".join(one.text()[-3000:] for one in schedulers)
            raise AssertionError(f"timed out after {timeout} s waiting for {what}:\n{outputs}")
        time.sleep(0.1)


def stop_all(schedulers: list[Headless]) -> None:
    """SIGINT each Scheduler; each must exit 0 having printed no traceback."""
    for one in schedulers:
        one.process.send_signal(signal.SIGINT)
    for one in schedulers:
        assert one.finish(30) == 0, one.text()
        assert "Traceback" not in one.text(), one.text()
        assert "Scheduler stopped." in one.text()


def test_four_headless_schedulers_start_100_due_triggers_exactly_once(
    pg_db_url: str, crypto_key: str, tmp_path: Path, headless: list[Headless]
) -> None:
    store = Store(pg_db_url, crypto_key=crypto_key)
    for number in range(SCHEDULERS):
        folder = tmp_path / f"s{number}"
        folder.mkdir()
        headless.append(
            Headless(
                folder, pg_db_url, crypto_key, "--poll-interval", "0.5", "--name", f"S{number}"
            )
        )
    for one in headless:
        one.wait_for_output("started; polling every 0.5 s", timeout=30)

    # All due at one future instant: every Scheduler sleeps until exactly then (it wakes
    # for the next due time, not only at its poll interval), so all four race for all 100.
    due = datetime.now() + timedelta(seconds=3)
    trigger_ids = [
        store.create_single_trigger(
            f"due-{n:03}", "quick", due, script("quick.py"), "", False, False, 0
        )
        for n in range(TRIGGERS)
    ]
    if datetime.now() >= due:  # a slow machine: the race is spread over a few polls
        print("\n[reliability] the triggers fell due while still being created")

    def all_done() -> bool:
        statuses = {t.id: t.process_status for t in store.get_single_triggers()}
        return all(statuses[key] is TriggerStatus.DONE for key in trigger_ids)

    wait_for(all_done, 45, "every trigger DONE", headless)
    stop_all(headless)

    jobs = store.get_jobs()
    per_trigger = Counter(job.trigger_id for job in jobs)
    twice = {key: count for key, count in per_trigger.items() if count != 1}
    assert twice == {}, "a trigger was begun more than once"
    assert set(per_trigger) == set(trigger_ids) and len(jobs) == TRIGGERS
    assert {job.status for job in jobs} == {JobStatus.DONE}
    per_scheduler = Counter(job.scheduler_name for job in jobs)
    print(f"\n[reliability] jobs per Scheduler: {dict(sorted(per_scheduler.items()))}")
    assert len(per_scheduler) > 1, "only one Scheduler did any work: there was no race"
    for number, one in enumerate(headless):
        started = one.text().count("Starting '")
        assert started == per_scheduler.get(f"S{number}", 0), one.text()
    store.close()


def test_a_15_second_database_outage_under_a_headless_scheduler(
    own_pg: PgCluster, crypto_key: str, tmp_path: Path, headless: list[Headless]
) -> None:
    url = create_database(own_pg.server_url)
    engine = build_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    store = Store(url, crypto_key=crypto_key)
    # Two processes end while the server is down (exit 0 and exit 1): they wait for a file
    # the test makes only then, so a slow start of the others cannot end them early. A
    # third, using the SDK, sleeps through the outage and then logs: its connection must
    # recover too.
    end_now = tmp_path / "end-now"
    ends_ok = single_due(store, script("until_file.py"), f"{end_now} 0", name="ends-ok-in-outage")
    ends_failed = single_due(store, script("until_file.py"), f"{end_now} 1", name="fails-in-outage")
    outlives = single_due(
        store,
        script("sleep_then_ok.py"),
        str(OUTAGE + 6),
        name="outlives-outage",
        process_name="sdk sleeper",
    )
    scheduler = Headless(tmp_path, url, crypto_key, "--poll-interval", "0.5", "--name", "S")
    headless.append(scheduler)
    wait_for(
        lambda: (
            len(store.get_jobs(status=JobStatus.RUNNING)) == 3
            and bool(store.get_logs(process_name="sdk sleeper"))
        ),
        30,
        "three RUNNING jobs, the SDK one asleep",
        headless,
    )
    store.close()  # its pooled connections would die with the server anyway

    own_pg.stop_server()
    down_at = time.monotonic()
    try:
        scheduler.wait_for_output("Database error", timeout=10)
        end_now.touch()
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
        assert scheduler.process.poll() is None, scheduler.text()
        # Both ended during the outage; their outcomes wait in the Scheduler's memory.
        scheduler.wait_for_output("'fails-in-outage' failed (exit 1", timeout=OUTAGE)
        scheduler.wait_for_output("'ends-ok-in-outage' finished (exit 0", timeout=OUTAGE)
        output = scheduler.text()
        assert "'ends-ok-in-outage' finished (exit 0" in output, output
        assert "'fails-in-outage' failed (exit 1" in output, output
    finally:
        own_pg.resume()
    up_at = datetime.now()
    outage = time.monotonic() - down_at

    store = Store(url, crypto_key=crypto_key)
    ended = (TriggerStatus.DONE, TriggerStatus.FAILED)
    wait_for(
        lambda: all(
            trigger_status(store, key) in ended for key in (ends_ok, ends_failed, outlives)
        ),
        30,
        "every outcome recorded",
        headless,
    )
    wait_for(
        lambda: store.get_schedulers()[0].last_update > up_at + timedelta(seconds=1),
        10,
        "a heartbeat after the outage",
        headless,
    )

    assert trigger_status(store, ends_ok) is TriggerStatus.DONE
    assert trigger_status(store, ends_failed) is TriggerStatus.FAILED
    outlived = jobs_of(store, outlives)
    assert trigger_status(store, outlives) is TriggerStatus.DONE, [
        log.log_message for job in outlived for log in logs_of(store, job.id)
    ]
    statuses = {
        key: [job.status for job in jobs_of(store, key)] for key in (ends_ok, ends_failed, outlives)
    }
    assert statuses == {
        ends_ok: [JobStatus.DONE],
        ends_failed: [JobStatus.FAILED],
        outlives: [JobStatus.DONE],
    }
    (failed_job,) = jobs_of(store, ends_failed)
    (error,) = logs_of(store, failed_job.id)
    assert error.log_level is LogLevel.ERROR
    assert "exited with code 1" in error.log_message
    assert "then failed on purpose" in error.log_message
    messages = [log.log_message for log in logs_of(store, outlived[0].id)]
    assert sorted(messages) == [f"sleeping {OUTAGE + 6} s", "slept and finished"]

    stop_all(headless)
    output = scheduler.text()
    assert "Could not record" not in output, output
    # In this order: the outage noticed, both processes ended (either first), the database back.
    noticed, back = output.index("Database error"), output.index("reachable again")
    for ended in ("'ends-ok-in-outage' finished (exit 0", "'fails-in-outage' failed (exit 1"):
        assert noticed < output.index(ended) < back, output
    print(f"\n[reliability] database down for {outage:.1f} s; the Scheduler survived")
    store.close()

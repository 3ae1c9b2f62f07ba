"""One name, one Scheduler in the data layer (SQLite and PostgreSQL): the rule that says
whether a run still holds its name, refusal changing nothing, `replace` killing the old
run's triggers as the Orchestrator's kill does, and two registrations at once: one wins.
And the engine after `replace`: what an unresponsive old run left is ended after its
timeout."""

import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from openorch.database import JobStatus, Scheduler, TriggerStatus
from openorch.scheduler import SchedulerEngine
from openorch.store import Store
from openorch.store.runs.schedulers import RunIdentity, run_holds_name
from support.processes.harness import make_settings, poll_until

NOW = datetime(2026, 1, 1, 12)
HERE = RunIdentity("robot-1", 100)
RUN = uuid.uuid4()


@pytest.mark.parametrize(
    ("row", "pid_running", "holds"),
    [
        ({}, True, True),  # same host, pid running, fresh heartbeat
        ({}, False, False),  # same host, pid gone: dead at once
        ({"pid": HERE.pid}, True, False),  # this very process: an earlier run of it
        ({"host": "robot-2"}, False, True),  # another host: its fresh heartbeat counts
        ({"host": "robot-2", "silent": 31}, True, False),  # ... until it is stale
        ({"silent": 31}, True, False),  # stale is dead on this host too
        ({"host": None, "pid": None}, True, True),  # no identity recorded: heartbeat only
        ({"state": "stopped"}, True, False),  # it left
        ({"run_id": None}, True, False),  # declared dead, or the original's row
    ],
)
def test_the_rule_that_says_whether_a_run_holds_its_name(
    row: dict[str, object], pid_running: bool, holds: bool
) -> None:
    values: dict[str, object] = {
        "run_id": RUN,
        "state": "running",
        "host": HERE.host,
        "pid": 4242,
        "silent": 5,
    } | row
    assert (
        run_holds_name(
            values["run_id"],  # type: ignore[arg-type]
            values["state"],  # type: ignore[arg-type]
            values["host"],  # type: ignore[arg-type]
            values["pid"],  # type: ignore[arg-type]
            NOW - timedelta(seconds=float(values["silent"])),  # type: ignore[arg-type]
            30,
            NOW,
            HERE,
            lambda pid: pid_running,
        )
        is holds
    )


def _single(store: Store) -> uuid.UUID:
    return store.create_single_trigger(
        "robot", "robot", datetime.now() - timedelta(seconds=1), "robot.py", "", False, False
    )


def test_refused_changes_nothing_and_replace_kills_as_the_orchestrator_does(
    store: Store,
) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    there = RunIdentity("robot-2", 200)
    assert store.register_run("vm", first, 30, "running", here=there).registered
    trigger_id = _single(store)
    job = store.begin_trigger_run(trigger_id, "vm", first)
    assert job is not None
    (before,) = store.get_schedulers()

    refused = store.register_run("vm", second, 30, "running", here=HERE)
    assert not refused.registered and refused.refused_by is not None
    holder = refused.refused_by
    assert (holder.run_id, holder.host, holder.pid, holder.alive) == (first, "robot-2", 200, True)
    assert holder.where() == "machine 'robot-2', pid 200"
    (after,) = store.get_schedulers()
    assert (after.run_id, after.run_host, after.run_pid, after.last_update) == (
        first,
        "robot-2",
        200,
        before.last_update,
    )
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.RUNNING

    replaced = store.register_run("vm", second, 30, "running", here=HERE, replace=True)
    assert replaced.registered and replaced.previous is not None and replaced.previous.alive
    assert [item.job_id for item in replaced.handed_over] == [job.id]
    assert replaced.leftovers == ()  # the live run's jobs are its own to kill and record
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.KILLING
    (row,) = store.get_schedulers()
    assert (row.run_id, row.run_host, row.run_pid) == (second, HERE.host, HERE.pid)
    holder_now = store.get_run_holder("vm", there, lambda pid: True)
    assert holder_now is not None and holder_now.run_id == second and holder_now.alive


def test_a_stopped_or_stale_run_frees_its_name(store: Store) -> None:
    first = uuid.uuid4()
    there = RunIdentity("robot-2", 200)
    store.register_run("vm", first, 5, "running", here=there)
    store.set_engine_state("vm", first, "stopped")
    assert store.get_run_holder("vm", HERE) is not None
    assert not store.get_run_holder("vm", HERE).alive  # type: ignore[union-attr]
    second = uuid.uuid4()
    taken = store.register_run("vm", second, 5, "running", here=there)
    assert taken.registered and taken.previous is not None and not taken.previous.alive

    assert not store.register_run("vm", uuid.uuid4(), 5, "running", here=HERE).registered
    with store.engine.begin() as connection:
        connection.execute(
            update(Scheduler).values(last_update=datetime.now() - timedelta(seconds=6))
        )
    assert store.register_run("vm", uuid.uuid4(), 5, "running", here=HERE).registered


@pytest.mark.parametrize("existing", [False, True], ids=["new name", "dead holder"])
def test_two_schedulers_registering_one_name_at_once_one_wins(
    store: Store, db_url: str, crypto_key: str, existing: bool
) -> None:
    names = [f"race-{n}" for n in range(6)]
    if existing:  # a dead holder's row: both race to take it over
        for name in names:
            store.register_run(name, uuid.uuid4(), 5, "stopped", here=HERE)
            store.set_engine_state(name, store.get_run_holder(name).run_id, "stopped")  # type: ignore[union-attr]
    stores = [Store(db_url, crypto_key=crypto_key) for _ in range(2)]
    results: dict[str, list[bool]] = {name: [] for name in names}
    errors: list[BaseException] = []

    def racer(number: int, name: str, barrier: threading.Barrier) -> None:
        try:
            barrier.wait(10)
            decided = stores[number].register_run(
                name, uuid.uuid4(), 30, "running", here=RunIdentity(f"robot-{number}", 10)
            )
            results[name].append(decided.registered)
        except BaseException as error:
            errors.append(error)

    for name in names:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=racer, args=(n, name, barrier)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    for one in stores:
        one.close()
    assert not errors, errors
    assert all(sorted(won) == [False, True] for won in results.values()), results


def test_replace_ends_what_an_unresponsive_old_run_left_after_its_timeout(
    sqlite_db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    old = uuid.uuid4()
    # Timed from the old run's last heartbeat, which its timeout counts from (timed from
    # after the poll below, it measured 0.98 s once in a loaded CI run).
    started = time.monotonic()
    store.register_run("vm", old, 1.0, "running", here=RunIdentity("far-away", 77))
    trigger_id = _single(store)
    job = store.begin_trigger_run(trigger_id, "vm", old)
    assert job is not None
    store.record_job_process(job.id, 77777, 1234.5)
    lines: list[str] = []
    settings = make_settings(sqlite_db_url, crypto_key, tmp_path, name="vm", heartbeat_timeout=1)
    engine = SchedulerEngine(settings, store, lines.append, replace=True)
    engine.poll()
    assert engine.run_id is not None and engine.refused_by is None
    assert any("Replaced the running Scheduler on machine 'far-away', pid 77" in x for x in lines)
    # The old run is asked, as by the Orchestrator's Kill; it has its timeout to answer.
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.KILLING
    assert store.get_job(job.id).status is JobStatus.RUNNING
    poll_until(engine, lambda: store.get_job(job.id).status is JobStatus.FAILED, timeout=10)
    assert time.monotonic() - started > 1.0
    (log,) = store.get_logs(job_id=job.id)
    assert "is on another machine and was left alone" in log.log_message
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.FAILED
    store.close()

"""Run ownership in the data layer: one-transaction begin, the state machine applied as
conditional updates, heartbeats and reaping by the database's clock (SQLite and
PostgreSQL)."""

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from openorch.database import JobStatus, LogLevel, Scheduler, TriggerStatus
from openorch.store import Store
from openorch.store.runs.schedulers import HeartbeatResult, RunIdentity, is_alive
from openorch.store.runs.state import TransitionRefused


def _scheduled(store: Store, keep_running: bool | None = None) -> uuid.UUID:
    return store.create_scheduled_trigger(
        "nightly",
        "robot",
        "0 3 * * *",
        datetime.now() - timedelta(minutes=1),
        "robot.py",
        None,
        False,
        False,
        keep_running_after_failure=keep_running,
    )


def test_begin_creates_the_job_owned_by_the_run_in_one_go(store: Store) -> None:
    trigger_id = _scheduled(store)
    run_id = uuid.uuid4()
    store.register_run("RPA01", run_id, 30, "running")
    began = datetime.now()
    job = store.begin_trigger_run(trigger_id, "RPA01", run_id)
    assert job is not None
    stored = store.get_job(job.id)
    assert (stored.status, stored.run_id, stored.trigger_id) == (
        JobStatus.RUNNING,
        run_id,
        trigger_id,
    )
    trigger = store.get_trigger(trigger_id)
    assert trigger.process_status is TriggerStatus.RUNNING and trigger.last_run is not None
    assert trigger.next_run > began  # type: ignore[attr-defined]
    assert store.get_schedulers()[0].latest_trigger == "nightly"
    # Begun already: nobody else begins it, and no second job appears.
    assert store.begin_trigger_run(trigger_id, "RPA02", uuid.uuid4()) is None
    assert len(store.get_jobs()) == 1


def test_enable_on_running_is_refused_and_changes_nothing(store: Store) -> None:
    trigger_id = _scheduled(store)
    assert store.begin_trigger_run(trigger_id, "RPA01", None) is not None
    with pytest.raises(TransitionRefused, match="Enable refused: the trigger is Running"):
        store.enable_trigger(trigger_id)
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.RUNNING
    assert store.disable_trigger(trigger_id) is TriggerStatus.PAUSING
    assert store.enable_trigger(trigger_id) is TriggerStatus.RUNNING  # undo the Disable
    assert store.kill_trigger(trigger_id) is TriggerStatus.KILLING
    with pytest.raises(TransitionRefused):
        store.enable_trigger(trigger_id)


def test_kill_on_a_trigger_that_is_not_running_is_refused(store: Store) -> None:
    trigger_id = _scheduled(store)
    with pytest.raises(TransitionRefused, match="nothing to kill"):
        store.kill_trigger(trigger_id)
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.IDLE
    with pytest.raises(ValueError, match="No trigger"):
        store.kill_trigger(uuid.uuid4())


def test_saving_an_edited_trigger_never_changes_its_status(store: Store) -> None:
    trigger_id = _scheduled(store)
    stale = store.get_trigger(trigger_id)  # read while IDLE, as a popup would
    assert store.begin_trigger_run(trigger_id, "RPA01", None) is not None
    stale.priority = 7
    store.update_trigger(stale)
    fresh = store.get_trigger(trigger_id)
    assert fresh.priority == 7 and fresh.process_status is TriggerStatus.RUNNING


@pytest.mark.parametrize(
    ("keep", "after"), [(None, TriggerStatus.FAILED), (True, TriggerStatus.IDLE)]
)
def test_a_job_ends_once_with_its_trigger_and_log(
    store: Store, keep: bool | None, after: TriggerStatus
) -> None:
    trigger_id = _scheduled(store, keep)
    job = store.begin_trigger_run(trigger_id, "RPA01", None)
    assert job is not None
    assert store.end_job(job.id, JobStatus.FAILED, "exit 1", LogLevel.ERROR)
    assert store.get_trigger(trigger_id).process_status is after
    assert store.get_trigger(trigger_id).keep_running_after_failure is keep
    # A late second report (a reaper, a Scheduler that comes back) changes nothing.
    store.disable_trigger(trigger_id)
    assert not store.end_job(job.id, JobStatus.DONE, "late")
    assert store.get_job(job.id).status is JobStatus.FAILED
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.PAUSED
    assert [log.log_message for log in store.get_logs(job_id=job.id)] == ["exit 1"]


def test_register_heartbeat_reap_and_supersede(store: Store) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    trigger_id = _scheduled(store)
    assert store.register_run("RPA01", first, 5, "running").leftovers == ()
    job = store.begin_trigger_run(trigger_id, "RPA01", first)
    assert job is not None
    assert store.heartbeat("RPA01", first, "paused") is HeartbeatResult.ALIVE
    row = store.get_schedulers()[0]
    assert (row.run_id, row.heartbeat_timeout, row.engine_state) == (first, 5.0, "paused")
    assert row.clock_offset is not None and abs(row.clock_offset) < 5

    # Silent past its own 5 s timeout (the reaper's own timeout does not matter).
    with store.engine.begin() as connection:
        connection.execute(
            update(Scheduler).values(last_update=row.last_update - timedelta(seconds=6))
        )
    (reaped,) = store.fail_jobs_of_dead_schedulers(timedelta(hours=1))
    assert reaped.id == job.id and store.get_job(job.id).status is JobStatus.FAILED
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.FAILED
    assert store.heartbeat("RPA01", first, "running") is HeartbeatResult.REAPED

    # A restart under the same name takes the name; the old run learns it.
    assert store.register_run("RPA01", second, 5, "running").leftovers == ()
    assert store.heartbeat("RPA01", first, "running") is HeartbeatResult.SUPERSEDED
    assert store.heartbeat("RPA01", second, "running") is HeartbeatResult.ALIVE


def test_leftovers_of_an_earlier_run_are_returned_and_ended(store: Store) -> None:
    trigger_id = _scheduled(store)
    old = uuid.uuid4()
    store.register_run("RPA01", old, 30, "running", here=RunIdentity("robot-host", 999))
    job = store.begin_trigger_run(trigger_id, "RPA01", old)
    assert job is not None
    store.record_job_process(job.id, 4321, 1234.5)
    # Restarted on the same host after a crash: the old run's pid is gone.
    restarted = store.register_run(
        "RPA01",
        uuid.uuid4(),
        30,
        "running",
        here=RunIdentity("robot-host", 1000),
        pid_running=lambda pid: pid != 999,
    )
    assert restarted.previous is not None and not restarted.previous.alive
    (leftover,) = restarted.leftovers
    assert (leftover.job_id, leftover.pid, leftover.process_started) == (job.id, 4321, 1234.5)
    assert store.end_leftover_jobs({job.id: "restarted"}) == (job.id,)
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.FAILED
    assert store.end_leftover_jobs({job.id: "again"}) == ()


def test_the_liveness_rule_and_clock_offsets(store: Store) -> None:
    now = datetime(2026, 1, 1, 12)
    assert is_alive(now - timedelta(seconds=29), 30, now)
    assert not is_alive(now - timedelta(seconds=31), 30, now)
    assert is_alive(now - timedelta(seconds=100), None, now)  # default 120 s
    assert not is_alive(None, 30, now)
    store.register_run("skewed", uuid.uuid4(), 30, "running")
    with store.engine.begin() as connection:
        connection.execute(update(Scheduler).values(clock_offset=-301.0))
    (health,) = store.get_scheduler_health()
    assert health.alive and health.notable_clock_offset == -301.0

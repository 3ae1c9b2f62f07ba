"""Triggers through the data layer, on SQLite and PostgreSQL."""

import json
import uuid
from datetime import datetime, timedelta

import pytest

from openorch.database import (
    QueueTrigger,
    ScheduledTrigger,
    SingleTrigger,
    TriggerStatus,
    TriggerType,
)
from openorch.store import Store


def make_single(store: Store, name: str = "single", **overrides: object) -> uuid.UUID:
    values: dict[str, object] = {
        "trigger_name": name,
        "process_name": "proc",
        "next_run": datetime.now() - timedelta(minutes=1),
        "process_path": "C:/robots/proc.py",
        "process_args": "",
        "is_git_repo": False,
        "is_blocking": True,
        "priority": 0,
    }
    values.update(overrides)
    return store.create_single_trigger(**values)  # type: ignore[arg-type]


def test_create_each_kind_and_read_back_detached(store: Store) -> None:
    now = datetime.now().replace(microsecond=0)
    single = make_single(
        store, "a-single", scheduler_whitelist=["RPA01", "RPA02"], git_branch="dev"
    )
    scheduled = store.create_scheduled_trigger(
        "b-scheduled",
        "proc",
        "0 7 * * 1-5",
        now,
        "https://example.com/r.git",
        "x y",
        True,
        False,
        5,
    )
    queue = store.create_queue_trigger(
        "c-queue", "proc", "invoices", "p.py", None, False, True, 10, 2
    )

    triggers = store.get_all_triggers()
    assert [t.trigger_name for t in triggers] == ["a-single", "b-scheduled", "c-queue"]
    by_id = {t.id: t for t in triggers}
    assert isinstance(by_id[single], SingleTrigger)
    assert by_id[single].type == TriggerType.SINGLE
    assert by_id[single].whitelist == ["RPA01", "RPA02"]
    assert by_id[single].scheduler_whitelist == ["RPA01", "RPA02"]  # a list, as in the original
    assert by_id[single].git_branch == "dev"
    assert by_id[single].process_status == TriggerStatus.IDLE
    assert isinstance(by_id[scheduled], ScheduledTrigger)
    assert by_id[scheduled].cron_expr == "0 7 * * 1-5"
    assert by_id[scheduled].next_run == now
    assert by_id[scheduled].priority == 5
    assert isinstance(by_id[queue], QueueTrigger)
    assert (by_id[queue].queue_name, by_id[queue].min_batch_size) == ("invoices", 10)
    assert by_id[queue].process_args is None


def test_pending_triggers_of_each_kind(store: Store) -> None:
    due = make_single(store, "due")
    make_single(store, "later", next_run=datetime.now() + timedelta(hours=1))
    running = make_single(store, "running")
    store.set_trigger_status(running, TriggerStatus.RUNNING)
    cron_due = store.create_scheduled_trigger(
        "cron", "p", "* * * * *", datetime.now() - timedelta(seconds=5), "p.py", "", False, True, 0
    )
    queue_ready = store.create_queue_trigger("qr", "p", "q1", "p.py", "", False, True, 2, 0)
    store.create_queue_trigger("qn", "p", "q2", "p.py", "", False, True, 3, 0)
    store.bulk_create_queue_elements("q1", ["a", "b"], [None, None])
    store.bulk_create_queue_elements("q2", ["a", "b"], [None, None])

    assert [t.id for t in store.get_pending_single_triggers()] == [due]
    assert [t.id for t in store.get_pending_scheduled_triggers()] == [cron_due]
    assert [t.id for t in store.get_pending_queue_triggers()] == [queue_ready]


def test_begin_is_won_once_and_advances_cron(store: Store) -> None:
    trigger_id = store.create_scheduled_trigger(
        "cron", "p", "*/5 * * * *", datetime.now() - timedelta(hours=3), "p.py", "", False, True, 0
    )
    began = datetime.now()
    assert store.begin_scheduled_trigger(trigger_id) is True
    assert store.begin_scheduled_trigger(trigger_id) is False
    trigger = store.get_trigger(trigger_id)
    assert isinstance(trigger, ScheduledTrigger)
    assert trigger.process_status == TriggerStatus.RUNNING
    assert trigger.last_run is not None
    # Missed runs are not caught up: the next run is after the begin, on a 5-minute mark.
    assert trigger.next_run > began
    assert trigger.next_run.minute % 5 == 0


def test_update_and_delete(store: Store) -> None:
    trigger_id = make_single(store)
    trigger = store.get_trigger(trigger_id)
    trigger.trigger_name = "renamed"
    trigger.priority = 9
    store.update_trigger(trigger)
    assert store.get_trigger(trigger_id).trigger_name == "renamed"
    assert store.get_trigger(trigger_id).priority == 9

    trigger.trigger_name = "x" * 101
    with pytest.raises(ValueError, match="trigger_name is too long"):
        store.update_trigger(trigger)
    assert store.get_trigger(trigger_id).trigger_name == "renamed"

    trigger.trigger_name = "renamed"
    trigger.scheduler_whitelist = '["RPA01", "RPA01", " RPA02 "]'
    trigger.git_branch = "  "
    store.update_trigger(trigger)
    saved = store.get_trigger(trigger_id)
    assert (saved.whitelist, saved.git_branch) == (["RPA01", "RPA02"], None)
    trigger.scheduler_whitelist = json.dumps([f"machine-{n:03}" for n in range(30)])
    with pytest.raises(ValueError, match="scheduler_whitelist is too long"):
        store.update_trigger(trigger)

    store.delete_trigger(trigger_id)
    assert store.get_all_triggers() == ()
    with pytest.raises(ValueError, match="No trigger"):
        store.get_trigger(trigger_id)
    with pytest.raises(ValueError, match="No trigger"):
        store.delete_trigger(trigger_id)


def test_change_trigger_status_is_conditional(store: Store) -> None:
    trigger_id = make_single(store)
    assert not store.change_trigger_status(
        trigger_id, [TriggerStatus.RUNNING], TriggerStatus.PAUSING
    )
    assert store.change_trigger_status(trigger_id, [TriggerStatus.IDLE], "PAUSED")
    assert store.get_trigger(trigger_id).process_status == TriggerStatus.PAUSED


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"trigger_name": None}, "trigger_name is required"),
        ({"trigger_name": "x" * 101}, "trigger_name is too long: 101 characters, the limit is 100"),
        ({"process_path": "p" * 251}, "process_path is too long"),
        ({"process_args": "a" * 1001}, "process_args is too long"),
        ({"process_name": None}, "process_name is required"),
        ({"process_name": ["p"]}, "process_name must be a string"),
        ({"process_name": True}, "process_name must be a string"),
        ({"priority": "high"}, "priority must be an integer"),
        ({"priority": 2**40}, "priority is out of range"),
        ({"is_blocking": "yes"}, "is_blocking must be True or False"),
        ({"next_run": "tomorrow"}, "next_run must be a datetime"),
        ({"scheduler_whitelist": ["x" * 300]}, "scheduler_whitelist is too long"),
        ({"trigger_name": "nul\x00byte"}, "NUL character"),
        ({"trigger_name": "half \ud800 surrogate"}, "not valid Unicode"),
    ],
)
def test_bad_trigger_input_is_refused_and_writes_nothing(
    store: Store, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_single(store, **overrides)
    assert store.get_all_triggers() == ()


@pytest.mark.parametrize("cron", ["", "* * *", "61 * * * *", "a b c d e", "* * * * * *"])
def test_bad_cron_is_refused(store: Store, cron: str) -> None:
    with pytest.raises(ValueError, match="cron_expr"):
        store.create_scheduled_trigger("c", "p", cron, datetime.now(), "p.py", "", False, True, 0)
    assert store.get_all_triggers() == ()


def test_queue_trigger_needs_positive_batch(store: Store) -> None:
    with pytest.raises(ValueError, match="min_batch_size must be at least 1"):
        store.create_queue_trigger("q", "p", "queue", "p.py", "", False, True, 0, 0)


@pytest.mark.parametrize("bad_id", ["not-a-uuid", 42, None, ""])
def test_bad_ids(store: Store, bad_id: object) -> None:
    with pytest.raises(ValueError, match="trigger_id is not a valid UUID"):
        store.get_trigger(bad_id)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="trigger_id is not a valid UUID"):
        store.set_trigger_status(bad_id, TriggerStatus.IDLE)  # type: ignore[arg-type]


def test_unknown_status_is_refused(store: Store) -> None:
    trigger_id = make_single(store)
    with pytest.raises(ValueError, match="status must be one of IDLE, RUNNING"):
        store.set_trigger_status(trigger_id, "SLEEPING")
    assert store.get_trigger(trigger_id).process_status == TriggerStatus.IDLE

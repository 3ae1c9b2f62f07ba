"""Calls OpenOrchestrator 3.0.0 accepted that openorch takes the same way, or refuses
loudly (issue 24), on SQLite and PostgreSQL: a status saved with `update_trigger`, and
numbers as NiceGUI fields, JSON and pandas hand them over. tests/compat compares the
same calls with the real original."""

import uuid
from datetime import datetime, timedelta

import pytest

from openorch.database import QueueTrigger, SingleTrigger, TriggerStatus
from openorch.store import Store
from openorch.store.runs.state import TransitionRefused

S = TriggerStatus


def _queue_trigger(store: Store) -> uuid.UUID:
    return store.create_queue_trigger("q", "P", "queue", "p.py", None, False, False, 1)


# --- item 1: a status saved with update_trigger ---------------------------------------


@pytest.mark.parametrize(
    ("start", "saved", "after"),
    [
        (S.IDLE, S.PAUSED, S.PAUSED),  # Disable
        (S.RUNNING, S.PAUSED, S.PAUSING),  # Disable of a running trigger
        (S.PAUSED, S.IDLE, S.IDLE),  # Enable
        (S.FAILED, S.IDLE, S.IDLE),  # a reset after a failure
        (S.PAUSING, S.IDLE, S.RUNNING),  # Enable while pausing: the run goes on
        (S.RUNNING, S.KILLING, S.KILLING),  # Kill
        (S.KILLED, S.PAUSED, S.PAUSED),
    ],
)
def test_a_saved_status_goes_through_the_state_machine(
    store: Store, start: TriggerStatus, saved: TriggerStatus, after: TriggerStatus
) -> None:
    trigger_id = _queue_trigger(store)
    store.set_trigger_status(trigger_id, start)
    trigger = store.get_trigger(trigger_id)
    trigger.process_status = saved
    trigger.priority = 3
    store.update_trigger(trigger)
    stored = store.get_trigger(trigger_id)
    assert (stored.process_status, stored.priority) == (after, 3)
    assert trigger.process_status is after  # the object holds what the trigger has


@pytest.mark.parametrize(
    ("start", "saved", "words"),
    [
        (S.RUNNING, S.IDLE, "process_status IDLE: Enable refused: the trigger is Running"),
        (S.KILLING, S.PAUSED, "Disable refused: the trigger is Killing"),
        (S.IDLE, S.KILLED, "nothing to kill"),
        (S.IDLE, S.RUNNING, "cannot be set to RUNNING by saving"),
        (S.RUNNING, S.DONE, "set_trigger_status"),
        (S.IDLE, S.FAILED, "cannot be set to FAILED"),
    ],
)
def test_a_saved_status_the_state_machine_refuses_is_an_error_and_changes_nothing(
    store: Store, start: TriggerStatus, saved: TriggerStatus, words: str
) -> None:
    trigger_id = _queue_trigger(store)
    store.set_trigger_status(trigger_id, start)
    trigger = store.get_trigger(trigger_id)
    trigger.process_status = saved
    trigger.trigger_name = "renamed"
    with pytest.raises(TransitionRefused, match=words):
        store.update_trigger(trigger)
    stored = store.get_trigger(trigger_id)
    assert (stored.process_status, stored.trigger_name) == (start, "q")
    assert trigger.process_status is saved  # left as the caller set it


def test_an_unchanged_status_of_a_stale_object_is_not_written_back(store: Store) -> None:
    trigger_id = _queue_trigger(store)
    stale = store.get_trigger(trigger_id)  # read while IDLE
    assert store.begin_trigger(trigger_id)
    stale.priority = 5
    store.update_trigger(stale)
    assert store.get_trigger(trigger_id).process_status is S.RUNNING
    assert stale.process_status is S.RUNNING


def test_a_saved_object_can_be_changed_and_saved_again(store: Store) -> None:
    trigger_id = _queue_trigger(store)
    trigger = store.get_trigger(trigger_id)
    trigger.process_status = S.PAUSED
    store.update_trigger(trigger)
    trigger.process_status = S.IDLE  # back to the status it was read with
    store.update_trigger(trigger)
    assert store.get_trigger(trigger_id).process_status is S.IDLE


def test_a_status_given_by_name_or_value_is_applied(store: Store) -> None:
    trigger_id = _queue_trigger(store)
    trigger = store.get_trigger(trigger_id)
    trigger.process_status = "Paused"  # type: ignore[assignment]
    store.update_trigger(trigger)
    assert store.get_trigger(trigger_id).process_status is S.PAUSED
    trigger.process_status = "Finished"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="process_status must be one of"):
        store.update_trigger(trigger)


def test_a_changed_last_run_is_saved(store: Store) -> None:
    trigger_id = _queue_trigger(store)
    trigger = store.get_trigger(trigger_id)
    moment = datetime(2024, 5, 6, 7, 8, 9)
    trigger.last_run = moment
    store.update_trigger(trigger)
    assert store.get_trigger(trigger_id).last_run == moment
    trigger.last_run = None
    store.update_trigger(trigger)
    assert store.get_trigger(trigger_id).last_run is None
    # Unchanged on a stale object: the run that began since keeps its time.
    stale = store.get_trigger(trigger_id)
    assert store.begin_trigger(trigger_id)
    began = store.get_trigger(trigger_id).last_run
    assert began is not None
    store.update_trigger(stale)
    assert store.get_trigger(trigger_id).last_run == began
    trigger = store.get_trigger(trigger_id)
    trigger.last_run = "yesterday"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="last_run must be a datetime"):
        store.update_trigger(trigger)


def test_a_new_object_is_refused_with_what_to_call_instead(store: Store) -> None:
    trigger = SingleTrigger(
        trigger_name="new",
        process_name="P",
        process_path="p.py",
        is_git_repo=False,
        is_blocking=False,
        next_run=datetime.now(),
    )
    with pytest.raises(ValueError, match="use create_single_trigger"):
        store.update_trigger(trigger)
    assert store.get_all_triggers() == ()


# --- item 3: numbers as the original takes them ------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [("5", 5), (" 5 ", 5), ("5.0", 5), (None, 0), (7.0, 7), (True, 1), (False, 0), (-3, -3)],
)
def test_a_priority_that_converts_without_loss_is_stored(
    store: Store, given: object, stored: int
) -> None:
    single = store.create_single_trigger("s", "P", datetime.now(), "p", "", False, False, given)  # type: ignore[arg-type]
    scheduled = store.create_scheduled_trigger(
        "c",
        "P",
        "0 0 * * *",
        datetime.now(),
        "p",
        "",
        False,
        False,
        given,  # type: ignore[arg-type]
    )
    queue = store.create_queue_trigger("q", "P", "q", "p", "", False, False, 1, given)  # type: ignore[arg-type]
    for trigger_id in (single, scheduled, queue):
        assert store.get_trigger(trigger_id).priority == stored


@pytest.mark.parametrize("given", [1.5, "1.5", "five", float("nan"), float("inf"), 2**31, [1]])
def test_a_priority_that_would_change_is_refused(store: Store, given: object) -> None:
    with pytest.raises(ValueError, match="priority"):
        store.create_single_trigger("s", "P", datetime.now(), "p", "", False, False, given)  # type: ignore[arg-type]
    assert store.get_all_triggers() == ()


def test_min_batch_size_as_the_original_takes_it(store: Store) -> None:
    trigger_id = store.create_queue_trigger("q", "P", "q", "p", "", False, False, 5.0)  # type: ignore[arg-type]
    trigger = store.get_trigger(trigger_id)
    assert isinstance(trigger, QueueTrigger) and trigger.min_batch_size == 5
    for refused in (2.5, None, 0, "0"):
        with pytest.raises(ValueError, match="min_batch_size"):
            store.create_queue_trigger("r", "P", "q", "p", "", False, False, refused)  # type: ignore[arg-type]
    trigger.min_batch_size = "7"  # type: ignore[assignment]
    trigger.priority = 2.0  # type: ignore[assignment]
    store.update_trigger(trigger)
    saved = store.get_trigger(trigger_id)
    assert isinstance(saved, QueueTrigger)
    assert (saved.min_batch_size, saved.priority) == (7, 2)
    assert [t.trigger_name for t in store.get_all_triggers()] == ["q"]


def test_a_due_time_is_unaffected(store: Store) -> None:
    """Sanity: the whole-number rule is for numbers only (a datetime stays required)."""
    with pytest.raises(ValueError, match="next_run"):
        store.create_single_trigger("s", "P", None, "p", "", False, False, 1)  # type: ignore[arg-type]
    assert store.create_single_trigger("s", "P", datetime.now() + timedelta(1), "p", "", 0, 1)


# --- smaller differences made the same ------------------------------------------------------


def test_none_where_the_original_took_none(store: Store) -> None:
    """No queue has no name (the original's query matched nothing); no trigger name is
    stored as NULL."""
    store.create_queue_element("q", "r")
    assert store.get_next_queue_element(None) is None  # type: ignore[arg-type]
    assert store.get_queue_elements("q")[0].status.name == "NEW"
    store.start_trigger_from_machine("M1", None)  # type: ignore[arg-type]
    (scheduler,) = store.get_schedulers()
    assert (scheduler.machine_name, scheduler.latest_trigger) == ("M1", None)
    assert scheduler.latest_trigger_time is not None
    with pytest.raises(ValueError, match="trigger_name is too long"):
        store.start_trigger_from_machine("M1", "t" * 101)


def test_repr_is_the_originals(store: Store) -> None:
    trigger_id = _queue_trigger(store)
    trigger = store.get_trigger(trigger_id)
    assert repr(trigger) == str(trigger) == "q: Queue"

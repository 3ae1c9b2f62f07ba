"""Which due triggers a Scheduler starts, and in which order (pure: no database)."""

import uuid
from datetime import datetime, timedelta

from openorch.database import QueueTrigger, ScheduledTrigger, SingleTrigger, Trigger, TriggerStatus
from openorch.scheduler.selection import order_triggers, select_and_begin


def _trigger(
    kind: type[Trigger],
    name: str,
    priority: int = 0,
    minutes_ago: int = 1,
    blocking: bool = False,
    whitelist: list[str] | None = None,
) -> Trigger:
    trigger = kind(
        id=uuid.uuid4(),
        trigger_name=name,
        priority=priority,
        is_blocking=blocking,
        process_status=TriggerStatus.IDLE,
    )
    trigger.scheduler_whitelist = whitelist
    if kind is not QueueTrigger:
        trigger.next_run = datetime.now() - timedelta(minutes=minutes_ago)  # type: ignore[attr-defined]
    return trigger


def test_order_is_priority_then_single_scheduled_queue_then_oldest() -> None:
    triggers = [
        _trigger(QueueTrigger, "queue"),
        _trigger(ScheduledTrigger, "scheduled"),
        _trigger(SingleTrigger, "single-new", minutes_ago=1),
        _trigger(SingleTrigger, "single-old", minutes_ago=5),
        _trigger(QueueTrigger, "urgent-queue", priority=10),
        _trigger(ScheduledTrigger, "low", priority=-1),
    ]
    names = [trigger.trigger_name for trigger in order_triggers(triggers)]
    assert names == ["urgent-queue", "single-old", "single-new", "scheduled", "queue", "low"]


def _begin_all(candidates: list[Trigger], **options: object) -> list[str]:
    settings: dict[str, object] = {
        "scheduler_name": "robot-1",
        "exclusive": False,
        "running": 0,
        "blocking_running": False,
    }
    settings.update(options)
    begun = select_and_begin(candidates, begin=lambda _t: True, **settings)  # type: ignore[arg-type]
    return [trigger.trigger_name for trigger in begun]


def test_whitelist_and_exclusive_mode() -> None:
    triggers = [
        _trigger(SingleTrigger, "anyone"),
        _trigger(SingleTrigger, "mine", whitelist=["ROBOT-1 ", "robot-2"]),
        _trigger(SingleTrigger, "theirs", whitelist=["robot-2"]),
    ]
    assert sorted(_begin_all(triggers)) == ["anyone", "mine"]
    assert _begin_all(triggers, exclusive=True) == ["mine"]


def test_blocking_rules() -> None:
    blocking = _trigger(SingleTrigger, "blocking", priority=5, blocking=True)
    free = _trigger(SingleTrigger, "free")
    other = _trigger(ScheduledTrigger, "other")
    # Idle machine: the blocking trigger (highest priority) starts alone.
    assert _begin_all([blocking, free, other]) == ["blocking"]
    # Busy machine: the blocking one waits, non-blocking ones start side by side.
    assert _begin_all([blocking, free, other], running=1) == ["free", "other"]
    # A blocking process runs: nothing starts.
    assert _begin_all([free, other], running=1, blocking_running=True) == []
    # Non-blocking work begun first in the same poll makes the machine busy.
    blocking.priority = -5
    assert _begin_all([blocking, free]) == ["free"]


def test_a_trigger_another_scheduler_won_is_skipped() -> None:
    won_elsewhere = _trigger(SingleTrigger, "lost", priority=5, blocking=True)
    free = _trigger(SingleTrigger, "free")
    begun = select_and_begin(
        [won_elsewhere, free],
        "robot-1",
        False,
        0,
        False,
        begin=lambda trigger: trigger is not won_elsewhere,
    )
    assert begun == [free]

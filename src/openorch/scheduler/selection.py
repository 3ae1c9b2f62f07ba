"""Which pending triggers this Scheduler starts, in which order (pure, no database).

Kept apart from the engine so the rules for starting work (docs/scheduler.md) can be read and
tested on their own: priority, type order, whitelist, exclusive mode, blocking.
"""

from collections.abc import Callable, Iterable
from datetime import datetime

from openorch.database import QueueTrigger, ScheduledTrigger, SingleTrigger, Trigger

#: At equal priority: Single before Scheduled before Queue.
_TYPE_RANK = {SingleTrigger: 0, ScheduledTrigger: 1, QueueTrigger: 2}


def _due_time(trigger: Trigger) -> datetime:
    """`next_run` for time triggers; a queue trigger that ran least recently goes first."""
    moment = getattr(trigger, "next_run", None) or trigger.last_run
    return moment or datetime.min


def order_triggers(triggers: Iterable[Trigger]) -> list[Trigger]:
    """Higher priority first; then Single, Scheduled, Queue; then oldest `next_run`."""
    return sorted(
        triggers,
        key=lambda trigger: (
            -(trigger.priority or 0),
            _TYPE_RANK.get(type(trigger), 3),
            _due_time(trigger),
            str(trigger.id),
        ),
    )


def is_eligible(trigger: Trigger, scheduler_name: str, exclusive: bool) -> bool:
    """A whitelist that names this Scheduler, or an empty one outside exclusive mode.

    Names compare without case or surrounding spaces: Windows machine names are
    case-insensitive, and an admin types them by hand.
    """
    whitelist = [name.strip().casefold() for name in trigger.whitelist]
    if not whitelist:
        return not exclusive
    return scheduler_name.strip().casefold() in whitelist


def select_and_begin(
    candidates: Iterable[Trigger],
    scheduler_name: str,
    exclusive: bool,
    running: int,
    blocking_running: bool,
    begin: Callable[[Trigger], bool],
) -> list[Trigger]:
    """Walk the pending triggers in order and begin those this Scheduler may run now.

    `begin` claims one trigger (and launches it); it returns False when another
    Scheduler won the trigger or the launch did not leave a process running. A blocking
    trigger starts only when nothing runs here; once it has started, nothing else does.
    Non-blocking triggers start side by side. Returns the triggers begun.
    """
    begun: list[Trigger] = []
    busy = running > 0
    if blocking_running:
        return begun
    for trigger in order_triggers(candidates):
        if not is_eligible(trigger, scheduler_name, exclusive):
            continue
        if trigger.is_blocking and busy:
            continue
        if not begin(trigger):
            continue
        begun.append(trigger)
        busy = True
        if trigger.is_blocking:
            break
    return begun

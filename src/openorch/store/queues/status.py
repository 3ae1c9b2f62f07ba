"""Every queue element status change, as data: which event takes an element from which
statuses to which, and which dates it stamps. The queue-element counterpart of
`store/runs/state.py` (triggers and jobs).

Nothing else writes `Queues.status`: creating (`elements.py`, `bulk.py`), claiming
(`claim.py`), ending an attempt (`lifecycle.py`), the admin's bulk actions (`admin.py`)
and a pipeline's steps (`pipelines.py`) take the values to write from
`transition_values` and the condition on the current status from `source_condition`,
so a statement can only do what the table allows: a concurrent change that moved the
element on makes the UPDATE match nothing.

Read the table as: "CLAIM takes a NEW element to IN_PROGRESS and stamps start_date".
SET and EDIT are the original OpenOrchestrator's `set_queue_element_status` and
`update_queue_element`, which allow any status from any status; openorch keeps that
(robots rely on it) and stamps the same dates the original did.
"""

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement

from openorch.database import QueueElement, QueueStatus
from openorch.database.base import table_of
from openorch.store.errors import BadInput

_QUEUES = table_of(QueueElement)
Q = QueueStatus


class QueueEvent(enum.Enum):
    """Something that happens to a queue element; `QUEUE_TRANSITIONS` says what it does."""

    CREATE = "create"  #: a process or an admin adds it (a new row, NEW)
    CLAIM = "claim"  #: a process takes the oldest claimable element
    COMPLETE = "complete"  #: a pipeline's last step finished
    FAIL = "fail"  #: a pipeline fails it, or a retry finds no attempt left
    RETRY = "retry"  #: an attempt ended and another remains: back to NEW (maybe deferred)
    ABANDON = "abandon"  #: its job ended (or an admin released it) with no attempt left
    WAIT = "wait"  #: a pipeline step waits: NEW again, deferred, not an attempt
    ADMIN_RETRY = "admin_retry"  #: the Orchestrator's bulk "retry": claimable at once
    ADMIN_ABANDON = "admin_abandon"  #: the Orchestrator's bulk "abandon"
    SET = "set"  #: `set_queue_element_status` (the original's: any status to any)
    EDIT = "edit"  #: `update_queue_element` with a status (the original's: no dates)


#: Statuses that end an element's work (they stamp end_date when SET).
ENDING = frozenset({Q.DONE, Q.FAILED, Q.ABANDONED})
#: Any status.
ANY = frozenset(QueueStatus)


@dataclass(frozen=True)
class Transition:
    """From which statuses an event applies (empty: a new row), to which status (None:
    the caller names it, for SET and EDIT), and which dates it writes."""

    sources: frozenset[QueueStatus]
    target: QueueStatus | None
    stamp_start: bool = False  #: start_date = now
    stamp_end: bool = False  #: end_date = now
    clear_end: bool = False  #: end_date = NULL (the element is open again)


QUEUE_TRANSITIONS: dict[QueueEvent, Transition] = {
    QueueEvent.CREATE: Transition(frozenset(), Q.NEW),
    QueueEvent.CLAIM: Transition(frozenset({Q.NEW}), Q.IN_PROGRESS, stamp_start=True),
    QueueEvent.COMPLETE: Transition(frozenset({Q.IN_PROGRESS}), Q.DONE, stamp_end=True),
    QueueEvent.FAIL: Transition(frozenset({Q.IN_PROGRESS}), Q.FAILED, stamp_end=True),
    QueueEvent.RETRY: Transition(frozenset({Q.IN_PROGRESS}), Q.NEW, clear_end=True),
    QueueEvent.ABANDON: Transition(frozenset({Q.IN_PROGRESS}), Q.ABANDONED, stamp_end=True),
    QueueEvent.WAIT: Transition(frozenset({Q.IN_PROGRESS}), Q.NEW),
    QueueEvent.ADMIN_RETRY: Transition(
        frozenset({Q.IN_PROGRESS, Q.FAILED, Q.ABANDONED}), Q.NEW, clear_end=True
    ),
    QueueEvent.ADMIN_ABANDON: Transition(
        frozenset({Q.NEW, Q.IN_PROGRESS}), Q.ABANDONED, stamp_end=True
    ),
    QueueEvent.SET: Transition(ANY, None),
    QueueEvent.EDIT: Transition(ANY, None),
}

#: How an attempt that ran out ends, by the event that ended it.
OUT_OF_ATTEMPTS = {Q.FAILED: QueueEvent.FAIL, Q.ABANDONED: QueueEvent.ABANDON}


def target_of(event: QueueEvent, target: QueueStatus | None = None) -> QueueStatus:
    """The status `event` leads to (`target` for SET and EDIT, which need one).

    Raises:
        BadInput: a target for an event that has its own, or none for SET/EDIT.
    """
    fixed = QUEUE_TRANSITIONS[event].target
    if fixed is None:
        if target is None:
            raise BadInput(f"The queue event {event.name} needs a target status.")
        return target
    if target is not None and target is not fixed:
        raise BadInput(f"The queue event {event.name} leads to {fixed.name}, not {target.name}.")
    return fixed


def transition_values(
    event: QueueEvent, now: Any, target: QueueStatus | None = None
) -> dict[str, Any]:
    """The columns `event` writes: the status and the dates it stamps or clears. `now` is
    a datetime or a bind parameter (the claim statement is built once)."""
    transition = QUEUE_TRANSITIONS[event]
    status = target_of(event, target)
    values: dict[str, Any] = {"status": status}
    if event is QueueEvent.SET:
        # The original's set_queue_element_status: IN_PROGRESS stamps start_date, an
        # ending status end_date; NEW leaves both.
        if status is Q.IN_PROGRESS:
            values["start_date"] = now
        elif status in ENDING:
            values["end_date"] = now
        return values
    if transition.stamp_start:
        values["start_date"] = now
    if transition.stamp_end:
        values["end_date"] = now
    if transition.clear_end:
        values["end_date"] = None
    return values


def source_condition(event: QueueEvent) -> ColumnElement[bool] | None:
    """The WHERE condition on the element's current status that `event` requires (None:
    any status, or a new row). One status is an equality, which the claim's index
    serves as before."""
    sources = QUEUE_TRANSITIONS[event].sources
    if not sources or sources == ANY:
        return None
    if len(sources) == 1:
        return _QUEUES.c.status == next(iter(sources))
    return _QUEUES.c.status.in_(sorted(sources, key=lambda status: status.name))


def where_allowed(event: QueueEvent) -> tuple[ColumnElement[bool], ...]:
    """`source_condition` as a tuple to splat into `.where(...)` (empty: no condition)."""
    condition = source_condition(event)
    return () if condition is None else (condition,)


def sources_of(event: QueueEvent) -> tuple[QueueStatus, ...]:
    """The statuses `event` applies to, in the enum's order (for messages and screens)."""
    return tuple(status for status in QueueStatus if status in QUEUE_TRANSITIONS[event].sources)


def apply(element: QueueElement, event: QueueEvent, now: datetime) -> None:
    """Apply `event` to a loaded element (the ORM path: SQL Server's claim).

    Raises:
        BadInput: the element's status does not allow the event.
    """
    sources = QUEUE_TRANSITIONS[event].sources
    if sources and element.status not in sources:
        raise BadInput(
            f"Queue element {element.id} is {element.status.name}: {event.name} applies to "
            f"{', '.join(status.name for status in sources_of(event))} only."
        )
    for column, value in transition_values(event, now).items():
        setattr(element, column, value)

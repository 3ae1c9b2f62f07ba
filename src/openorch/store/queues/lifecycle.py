"""The end of an attempt at an element: retried, released or failed, counted against the
queue's attempts; and `release_job_elements`, which the end of a job calls
(`store/runs/state.py`) in its own transaction. Data-layer functions over an open Core
connection."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from openorch.database import JobStatus, QueueElement, QueueSettings, QueueStatus
from openorch.database.base import table_of
from openorch.store import validation as v
from openorch.store.errors import BadInput, NotFound, StoreError
from openorch.store.queues.history import record_event
from openorch.store.queues.messages import describe_duration, stamp
from openorch.store.queues.review import after_failure
from openorch.store.queues.status import (
    OUT_OF_ATTEMPTS,
    QueueEvent,
    target_of,
    transition_values,
    where_allowed,
)

_QUEUES = table_of(QueueElement)

_SETTINGS = table_of(QueueSettings)


class _Attempt:
    """An IN_PROGRESS element about to end an attempt, with its queue's settings.

    A plain class, not a dataclass: this module is on every SDK process's import path, and
    a frozen dataclass costs a few million instructions to build (it compiles its methods).
    """

    __slots__ = (
        "attempts",
        "id",
        "job_id",
        "max_attempts",
        "queue_name",
        "retry_delay",
        "start_date",
    )

    def __init__(
        self,
        *,
        id: uuid.UUID,
        attempts: int,
        max_attempts: int,
        retry_delay: timedelta,
        start_date: datetime | None,
        job_id: uuid.UUID | None,
        queue_name: str = "",
    ) -> None:
        self.queue_name = queue_name
        self.id = id
        self.attempts = attempts
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.start_date = start_date
        self.job_id = job_id


def _attempts_statement() -> Any:
    return select(
        _QUEUES.c.id,
        _QUEUES.c.attempts,
        _QUEUES.c.start_date,
        _QUEUES.c.job_id,
        _QUEUES.c.queue_name,
        _SETTINGS.c.max_attempts,
        _SETTINGS.c.retry_delay_seconds,
    ).select_from(_QUEUES.outerjoin(_SETTINGS, _SETTINGS.c.queue_name == _QUEUES.c.queue_name))


def _attempts(connection: Connection, *conditions: Any) -> list[_Attempt]:
    rows = connection.execute(
        _attempts_statement().where(_QUEUES.c.status == QueueStatus.IN_PROGRESS, *conditions)
    )
    return [
        _Attempt(
            id=row.id,
            attempts=row.attempts or 0,
            max_attempts=row.max_attempts or 1,
            retry_delay=timedelta(seconds=row.retry_delay_seconds or 0),
            start_date=row.start_date,
            job_id=row.job_id,
            queue_name=row.queue_name,
        )
        for row in rows
    ]


def _end_attempt(
    connection: Connection,
    attempt: _Attempt,
    now: datetime,
    out_of_attempts: QueueStatus,
    why: str,
    *conditions: Any,
    history_event: str = "retried",
    actor: str | None = None,
    kind: str = "application",
) -> QueueStatus | None:
    """Count one more attempt of an IN_PROGRESS element: back to NEW (deferred by the
    retry delay) while attempts remain, else `out_of_attempts`. The message is `why`
    followed by what happened. Conditional on the element still being IN_PROGRESS (and
    `conditions`), so a concurrent DONE wins; None when it did.

    A business failure (`kind`) is never retried: FAILED at once. The change is recorded
    in the element's history (`history_event`, or "failed"), and a failure goes to
    review per the queue's setting (store/queues/review.py)."""
    used = attempt.attempts + 1
    values: dict[str, Any] = {"attempts": used}
    if kind == "business":
        event = QueueEvent.FAIL
        outcome = "FAILED: a business failure is not retried."
        values.update(transition_values(event, now))
    elif used < attempt.max_attempts:
        event = QueueEvent.RETRY
        not_before = now + attempt.retry_delay if attempt.retry_delay else None
        when = f", not before {stamp(not_before)}" if not_before else ""
        outcome = f"back to NEW for attempt {used + 1} of {attempt.max_attempts}{when}."
        values.update(transition_values(event, now), not_before=not_before)
    else:
        event = OUT_OF_ATTEMPTS[out_of_attempts]
        outcome = f"{out_of_attempts.name} after {used} of {attempt.max_attempts} attempt(s)."
        values.update(transition_values(event, now))
    status = target_of(event)
    limit = v.column_length(QueueElement, "message")
    message = f"{why} {outcome}"
    if len(message) > limit:
        message = f"{why[: limit - len(outcome) - 2]}… {outcome}"[:limit]
    values["message"] = message
    result = connection.execute(
        update(_QUEUES)
        .where(_QUEUES.c.id == attempt.id, *where_allowed(event), *conditions)
        .values(**values)
    )
    if result.rowcount != 1:
        return None
    if status is QueueStatus.FAILED:
        after_failure(
            connection,
            attempt.id,
            attempt.queue_name,
            kind,
            message,
            now,
            actor,
            claimed_at=attempt.start_date,
            job=attempt.job_id,
            attempts=used,
        )
    else:
        record_event(
            connection,
            attempt.id,
            history_event,
            actor,
            now,
            message=message,
            status=status,
            job=attempt.job_id,
            claimed_at=attempt.start_date,
            attempts=used,
        )
    return status


def release_job_elements(
    connection: Connection,
    job_id: uuid.UUID,
    job_status: JobStatus,
    now: datetime,
    reason: str | None = None,
) -> int:
    """Release every element the job still holds IN_PROGRESS, in the caller's
    transaction (the one that ends the job): back to NEW after the queue's retry delay
    while its queue allows another attempt, otherwise ABANDONED. Each gets a message
    naming the job and how it ended (`reason` adds why, e.g. "reaped: ..."). Returns how
    many elements were released. Served by the (job_id) index.
    """
    why = f"Job {job_id} ended {job_status.name}" + (f" ({reason})" if reason else "") + ":"
    released = 0
    for attempt in _attempts(connection, _QUEUES.c.job_id == job_id):
        status = _end_attempt(
            connection,
            attempt,
            now,
            QueueStatus.ABANDONED,
            why,
            _QUEUES.c.job_id == job_id,
            history_event="released",
            actor=f"job {job_id}",
        )
        released += status is not None
    return released


def retry_element(
    connection: Connection,
    element_id: uuid.UUID,
    message: str | None,
    now: datetime,
    kind: str = "application",
    actor: str | None = None,
) -> QueueStatus:
    """The process holding an IN_PROGRESS element asks for another attempt: back to NEW
    (after the queue's retry delay) with attempts + 1 while attempts remain, otherwise
    FAILED. A business failure (`kind`) is FAILED at once. Returns the new status.

    Raises:
        ValueError: no such element, or it is not IN_PROGRESS.
    """
    found = _attempts(connection, _QUEUES.c.id == element_id)
    if not found:
        raise _not_in_progress(connection, element_id, "retried")
    status = _end_attempt(
        connection,
        found[0],
        now,
        QueueStatus.FAILED,
        (message or "Retry requested.").strip(),
        kind=kind,
        actor=actor,
    )
    if status is None:
        raise _not_in_progress(connection, element_id, "retried")
    return status


def release_element(
    connection: Connection, element_id: uuid.UUID, now: datetime, actor: str | None = None
) -> QueueStatus:
    """An admin releases an element stuck IN_PROGRESS (typically one the original's claim
    made, which records no job): NEW while attempts remain, otherwise ABANDONED, with a
    message saying for how long it was IN_PROGRESS.

    Raises:
        ValueError: no such element, or it is not IN_PROGRESS.
    """
    found = _attempts(connection, _QUEUES.c.id == element_id)
    if not found:
        raise _not_in_progress(connection, element_id, "released")
    attempt = found[0]
    held = describe_duration(now - attempt.start_date) if attempt.start_date else "an unknown time"
    holder = f"job {attempt.job_id}" if attempt.job_id else "no recorded job"
    why = f"Released by an admin after {held} IN_PROGRESS ({holder}):"
    status = _end_attempt(
        connection,
        attempt,
        now,
        QueueStatus.ABANDONED,
        why,
        history_event="released",
        actor=actor,
    )
    if status is None:
        raise _not_in_progress(connection, element_id, "released")
    return status


def _not_in_progress(connection: Connection, element_id: uuid.UUID, verb: str) -> StoreError:
    """The error for an element that cannot be retried or released: missing, or not
    IN_PROGRESS (saying what it is)."""
    status = connection.execute(select(_QUEUES.c.status).where(_QUEUES.c.id == element_id)).scalar()
    if status is None:
        return NotFound(f"No queue element with id {element_id} exists.")
    return BadInput(
        f"Queue element {element_id} is {status.name}, not IN_PROGRESS, so it cannot be {verb}."
    )

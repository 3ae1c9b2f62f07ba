"""The history of every queue element: one append-only row per change (issue 27).

Recorded rows (`Queue_Element_History`): created (one element at a time), released (its
job ended, or an admin released it), retried, failed (kind and message), sent to review,
decided (who, what, comment) and edited by an admin (which fields). Each is written in
the same transaction as the change it describes, by the data-layer function that makes
the change.

Not recorded as rows, on purpose: the happy path's claim and DONE (and the creation of
elements in bulk). Those facts are already in the element's own columns (created_date
and created_by, start_date and job_id, end_date), so `element_timeline` shows them from
there; a row per claim would add an INSERT to the hottest statement openorch has (see
docs/review.md, "History"). Every row that ends an attempt (released, retried, failed)
carries the claim it ended (`claimed_at`, `job`), so earlier claims appear in the
timeline too.

Functions here take an open Core `Connection` (the caller's transaction); the mixin
reads the timeline for the screens and the API.
"""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from openorch.database import ElementEvent, Job, QueueElement, QueueStatus
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput, NotFound

_EVENTS = table_of(ElementEvent)
_QUEUES = table_of(QueueElement)
_JOBS = table_of(Job)

#: The fields an admin may edit, and the statuses that stamp end_date when set.
EDITABLE_FIELDS = ("reference", "data", "message", "created_by")
_ENDING = (QueueStatus.DONE, QueueStatus.FAILED, QueueStatus.ABANDONED)

#: The events a row can record, and the ones the timeline adds from the element's columns.
EVENTS = (
    "created",
    "claimed",
    "released",
    "retried",
    "failed",
    "review",
    "decided",
    "edited",
    "abandoned",
)
DERIVED_EVENTS = ("created", "claimed", "done")

#: Events stamped with the same moment (one transaction: a failure that sends the
#: element to review, an admin's edit with the decision) in the order they happen; ids
#: cannot tell (random within one millisecond).
_SAME_MOMENT_ORDER = {
    event: rank
    for rank, event in enumerate(
        (
            "created",
            "claimed",
            "failed",
            "review",
            "released",
            "edited",
            "decided",
            "retried",
            "abandoned",
            "done",
        )
    )
}

_ACTOR_LENGTH = 200


def actor_of(store: object, actor: str | None) -> str | None:
    """Who makes a change: `actor` when given, else the store's `history_actor` (the
    SDK sets it to its process and job), else unknown (None)."""
    if actor is not None:
        return actor
    default = getattr(store, "history_actor", None)
    return default if isinstance(default, str) else None


def record_event(
    connection: Connection,
    element_id: uuid.UUID,
    event: str,
    actor: str | None,
    at: datetime,
    **details: Any,
) -> None:
    """Append one history row in the caller's transaction. `details` become its JSON
    (None values left out; ids and times as text)."""
    if event not in EVENTS:
        raise BadInput(f"Unknown history event {event!r}.")
    connection.execute(
        insert(_EVENTS).values(
            id=new_id(),
            element_id=element_id,
            at=at,
            event=event,
            actor=None if actor is None else actor[:_ACTOR_LENGTH],
            details=_dump(details),
        )
    )


def record_events(
    connection: Connection,
    element_ids: Sequence[uuid.UUID],
    event: str,
    actor: str | None,
    at: datetime,
    **details: Any,
) -> None:
    """`record_event` for many elements at once (an admin's bulk action), in one
    executemany in the caller's transaction."""
    if event not in EVENTS:
        raise BadInput(f"Unknown history event {event!r}.")
    if not element_ids:
        return
    text = _dump(details)
    who = None if actor is None else actor[:_ACTOR_LENGTH]
    connection.execute(
        insert(_EVENTS),
        [
            {
                "id": new_id(),
                "element_id": key,
                "at": at,
                "event": event,
                "actor": who,
                "details": text,
            }
            for key in element_ids
        ],
    )


def _dump(details: dict[str, Any]) -> str | None:
    kept = {key: _plain(value) for key, value in details.items() if value is not None}
    return json.dumps(kept, ensure_ascii=False) if kept else None


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, QueueStatus):
        return value.name
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


@dataclass(frozen=True)
class TimelineEntry:
    """One event of an element's timeline. `recorded` is False for the events read
    from the element's own columns (created, the last claim, DONE)."""

    at: datetime
    event: str
    actor: str | None
    details: dict[str, Any] = field(default_factory=dict)
    recorded: bool = True

    def summary(self) -> str:
        """The details in one line, for a screen ("kind: business, message: ...")."""
        return ", ".join(f"{key}: {value}" for key, value in self.details.items())


def _parse(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        loaded = json.loads(text)
    except ValueError:
        return {"details": text}
    return loaded if isinstance(loaded, dict) else {"details": loaded}


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def element_timeline(
    element: QueueElement, rows: list[ElementEvent], schedulers: dict[uuid.UUID, str]
) -> tuple[TimelineEntry, ...]:
    """The element's history, oldest first: its recorded rows, plus what its own columns
    say (created, claims, DONE) where no row says it. `schedulers` names the Scheduler of
    each job (by job id) for the claims."""
    entries = [TimelineEntry(row.at, row.event, row.actor, _parse(row.details)) for row in rows]
    recorded = {entry.event for entry in entries}
    derived: list[TimelineEntry] = []
    if "created" not in recorded:
        derived.append(
            TimelineEntry(element.created_date, "created", element.created_by, {}, False)
        )
    claims: set[tuple[datetime, str | None]] = set()
    for entry in entries:
        claimed_at = _parse_time(entry.details.get("claimed_at"))
        if claimed_at is not None:
            job = entry.details.get("job")
            claims.add((claimed_at, job if isinstance(job, str) else None))
    current = element.status in (QueueStatus.IN_PROGRESS, QueueStatus.DONE) or (
        element.status is QueueStatus.FAILED and element.start_date is not None
    )
    if current and element.start_date is not None:
        job = str(element.job_id) if element.job_id else None
        if not any(when == element.start_date for when, _job in claims):
            claims.add((element.start_date, job))
    for when, job in claims:
        details: dict[str, Any] = {}
        if job:
            details["job"] = job
            try:
                scheduler = schedulers.get(uuid.UUID(job))
            except ValueError:
                scheduler = None
            if scheduler:
                details["scheduler"] = scheduler
        actor = f"job {job}" if job else None
        derived.append(TimelineEntry(when, "claimed", actor, details, False))
    if element.status is QueueStatus.DONE and element.end_date is not None:
        done_by = f"job {element.job_id}" if element.job_id else None
        derived.append(TimelineEntry(element.end_date, "done", done_by, {}, False))
    merged = entries + derived
    merged.sort(key=lambda entry: (entry.at, _SAME_MOMENT_ORDER.get(entry.event, 99)))
    return tuple(merged)


class ElementHistoryStore(StoreCore):
    """Reading an element's history (the element dialog's timeline, the API)."""

    #: Who this store's changes are recorded as when a call names no actor (the SDK sets
    #: it to "process <name>, job <id>").
    history_actor: str | None = None

    def get_element_history(self, element_id: uuid.UUID | str) -> tuple[TimelineEntry, ...]:
        """The element's timeline, oldest first (recorded rows and what its columns say).

        Raises:
            ValueError: bad id, or no such element.
        """
        key = v.check_uuid("element_id", element_id)

        def work(connection: Connection) -> tuple[TimelineEntry, ...]:
            row = connection.execute(select(_QUEUES).where(_QUEUES.c.id == key)).first()
            if row is None:
                raise NotFound(f"No queue element with id {key} exists.")
            element = QueueElement(**row._mapping)
            events = [
                ElementEvent(**event._mapping)
                for event in connection.execute(
                    select(_EVENTS)
                    .where(_EVENTS.c.element_id == key)
                    .order_by(_EVENTS.c.at, _EVENTS.c.id)
                )
            ]
            jobs: set[uuid.UUID] = {element.job_id} if element.job_id else set()
            for event in events:
                job = _parse(event.details).get("job")
                if isinstance(job, str) and len(job) == 36:
                    jobs.add(uuid.UUID(job))
            schedulers: dict[uuid.UUID, str] = {}
            if jobs:
                schedulers = {
                    job_id: name
                    for job_id, name in connection.execute(
                        select(_JOBS.c.id, _JOBS.c.scheduler_name).where(_JOBS.c.id.in_(jobs))
                    )
                }
            return element_timeline(element, events, schedulers)

        with self.engine.connect() as connection:
            return work(connection)

    def edit_queue_element(
        self,
        element_id: uuid.UUID | str,
        actor: str,
        *,
        status: QueueStatus | str | None = None,
        **fields: str | None,
    ) -> tuple[str, ...]:
        """An admin's edit of an element (the element dialog): the given fields
        (reference, data, message, created_by; None: unchanged) and optionally a status
        (stamping start_date / end_date as `set_queue_element_status` does), in one
        transaction with an "edited" history row naming the fields that changed.
        Returns those fields.

        Raises:
            ValueError: bad id, field or value, or no such element.
        """
        key = v.check_uuid("element_id", element_id)
        unknown = set(fields) - set(EDITABLE_FIELDS)
        if unknown:
            raise BadInput(f"Unknown field(s): {', '.join(sorted(unknown))}.")
        wanted: dict[str, Any] = {
            name: v.check_text(QueueElement, name, value, required=False)
            for name, value in fields.items()
            if value is not None
        }
        new_status = None if status is None else v.check_enum(QueueStatus, "status", status)
        who = v.check_text(QueueElement, "created_by", actor[:100], nonblank=True)
        now = datetime.now()

        def work(connection: Connection) -> tuple[str, ...]:
            row = connection.execute(select(_QUEUES).where(_QUEUES.c.id == key)).first()
            if row is None:
                raise NotFound(f"No queue element with id {key} exists.")
            values = {
                name: value
                for name, value in wanted.items()
                if (getattr(row, name) or "") != (value or "")  # "" and NULL read the same
            }
            if new_status is not None and new_status is not row.status:
                values["status"] = new_status
                if new_status is QueueStatus.IN_PROGRESS:
                    values["start_date"] = now
                elif new_status in _ENDING:
                    values["end_date"] = now
            if not values:
                return ()
            connection.execute(update(_QUEUES).where(_QUEUES.c.id == key).values(**values))
            changed = tuple(name for name in (*EDITABLE_FIELDS, "status") if name in values)
            record_event(
                connection,
                key,
                "edited",
                who,
                now,
                fields=list(changed),
                status=new_status if "status" in values else None,
            )
            return changed

        return self._write_core(work)

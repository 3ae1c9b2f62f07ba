"""The atomic claim of the next element: the SQL per backend (one UPDATE ... RETURNING
on PostgreSQL and SQLite; a locking SELECT with SQL Server's table hints elsewhere).

Also the one way to read a queue's NEW elements oldest first (`new_in_queue`), which the
claim, the peek, the Overview, the metrics and the alert rules share: on PostgreSQL it is
written so that only an index on (queue_name, status, created_date) can serve it. Written
plainly (`queue_name = $1 AND status = $2 ORDER BY created_date LIMIT 1`) the planner
took the original's single-column `created_date` index instead and filtered: in the
generic plan of a prepared statement (psycopg prepares from a statement's fifth run on a
connection) whatever the statistics, and in custom plans with statistics from while the
queue was all NEW. A queue is worked from its oldest end, so every claim then walked over
all the elements already done: 55-61 ms per claim with 90,000 done, against 0.8-1.0 ms
now; a fleet of 8 fell from 1,010 to 58 claims/s within two minutes
(docs/benchmarks.md, "The claim's plan on PostgreSQL").

And where a process's claims start (`ClaimCursors`): on PostgreSQL from its last claim in
that queue, not from the queue's oldest end, so a long transaction elsewhere (which keeps
every claimed element's old index entry alive and unkillable) costs a claim the entries
claimed since this process's last claim, not all those since that transaction began.
"""

import functools
import threading
import time
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    literal,
    literal_column,
    or_,
    select,
    update,
)

from openorch.database import QueueElement
from openorch.database.base import table_of
from openorch.store.queues.status import (
    QueueEvent,
    sources_of,
    transition_values,
    where_allowed,
)

_QUEUES = table_of(QueueElement)

#: The one status a claim takes elements from (the state machine's rule).
(_CLAIMABLE_STATUS,) = sources_of(QueueEvent.CLAIM)


def new_in_queue(queue: Any, dialect: str) -> tuple[list[ColumnElement[bool]], list[Any]]:
    """The WHERE conditions selecting `queue`'s NEW elements (a value or a bind
    parameter), and the ORDER BY reading them oldest first, from the (queue_name,
    status, created_date) index.

    PostgreSQL: the status as a range of one value (`status >= 'NEW' AND status <=
    'NEW'`) and ORDER BY status, created_date. An equality would let the planner drop
    the status from the ORDER BY (a constant), leaving `ORDER BY created_date`, which
    the single-column index also serves; with the range only the two indexes on (...,
    status, ..., created_date) give that order without a sort, so one of them is chosen
    with statistics fresh, stale or none and in generic plans (measured: a row range on
    all three columns instead was sorted on a table never analysed). The range holds
    exactly the NEW elements (the collation is deterministic). Other backends: the
    plain equalities (SQL Server cannot be measured here; SQLite picks the composite
    index for them by its own rules).
    """
    is_queue = _QUEUES.c.queue_name == queue
    if dialect != "postgresql":
        return [is_queue, _QUEUES.c.status == _CLAIMABLE_STATUS], [_QUEUES.c.created_date]
    new = _new_literal()
    return [is_queue, _QUEUES.c.status >= new, _QUEUES.c.status <= new], [
        _QUEUES.c.status,
        _QUEUES.c.created_date,
    ]


def _new_literal() -> Any:
    return literal(_CLAIMABLE_STATUS, _QUEUES.c.status.type)


def oldest_new_created(queue: Any, dialect: str) -> Any:
    """Scalar subquery: the created_date of `queue`'s oldest NEW element (NULL if none),
    one index seek (see `new_in_queue`)."""
    where, order = new_in_queue(queue, dialect)
    return select(_QUEUES.c.created_date).where(*where).order_by(*order).limit(1).scalar_subquery()


#: SQL Server ignores FOR UPDATE; these table hints lock the row and skip locked ones.
MSSQL_CLAIM_HINT = "WITH (UPDLOCK, ROWLOCK, READPAST)"


def _not_deferred(now: Any) -> Any:
    """Not deferred past `now` (a value or a bind parameter)."""
    return or_(_QUEUES.c.not_before.is_(None), _QUEUES.c.not_before <= now)


def _claimable(now: Any) -> Any:
    """NEW and not deferred past `now` (a value or a bind parameter)."""
    return and_(*where_allowed(QueueEvent.CLAIM), _not_deferred(now))


def _oldest_claimable(
    queue: Any, reference: Any, now: Any, dialect: str, start: Any = None
) -> tuple[list[ColumnElement[bool]], list[Any]]:
    """WHERE and ORDER BY of the oldest claimable element (values or bind parameters;
    `reference` None: any). Without a reference as `new_in_queue` says, plus not
    deferred: no status equality added, which on PostgreSQL would undo its order. With
    one, by the queue's (queue_name, reference) index.

    `start` (PostgreSQL, no reference): only elements created at or after it, as a
    plain `created_date >= start` beside the status range. The scan of the (queue_name,
    status, created_date) index still starts at the queue's oldest NEW entry (after a
    range on the status the next column cannot bound the start), but checks the date in
    each index entry and skips those before `start` without visiting the heap: what a
    long transaction elsewhere makes expensive is the heap check of every dead entry,
    not stepping over it in the index. Measured and dropped: the row comparison
    `(status, created_date) >= ('NEW', start)`, which can bound the start, was planned
    with the (status, end_date, queue_name) index and a sort on a table never analysed,
    and with `status >= 'NEW'` beside it with the (status, queue_name, created_date)
    index, which cannot start there (2,822 entries read in the heap instead of 1)."""
    if reference is None:
        where, order = new_in_queue(queue, dialect)
        if start is not None:
            where.append(_QUEUES.c.created_date >= start)
        where.append(_not_deferred(now))
        return where, order
    return [
        _QUEUES.c.queue_name == queue,
        _claimable(now),
        _QUEUES.c.reference == reference,
    ], [_QUEUES.c.created_date]


def oldest_new_statement(
    queue_name: str,
    reference: str | None = None,
    now: datetime | None = None,
    dialect: str = "mssql",
) -> Any:
    """SELECT of the oldest claimable element of a queue: NEW and not deferred past now.

    Served by the (queue_name, status, created_date) index: rows are read in claim order
    and a deferred one is only skipped, never sorted.
    """
    where, order = _oldest_claimable(queue_name, reference, now or datetime.now(), dialect)
    return select(QueueElement).where(*where).order_by(*order).limit(1)


def claim_statement(
    queue_name: str, reference: str | None = None, now: datetime | None = None
) -> Any:
    """SELECT of the oldest claimable element, locking it and skipping rows others hold.

    PostgreSQL: FOR UPDATE SKIP LOCKED. SQL Server: UPDLOCK/ROWLOCK/READPAST hints
    (SQLAlchemy drops FOR UPDATE there). SQLite: the write transaction serialises.
    """
    return (
        oldest_new_statement(queue_name, reference, now)
        .with_for_update(skip_locked=True)
        .with_hint(QueueElement, MSSQL_CLAIM_HINT, "mssql")
    )


def claim_update_statement(with_reference: bool, dialect: str, from_start: bool = False) -> Any:
    """One statement that picks, locks and marks the element and returns it:
    UPDATE ... WHERE id = (SELECT id ... FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING ...
    (PostgreSQL and SQLite; one round trip per claim). Parameters: claim_queue, claim_now,
    claim_job (the claiming job, or None), `with_reference` claim_reference and
    `from_start` claim_start (see `ClaimCursors`). Built once: building it per call cost
    more than running it.

    SQLite picks and updates by the table's rowid, which the index entry holds, instead
    of the UUID key: one B-tree search less per claim, which pays for reading
    `not_before`. The element is found as `_oldest_claimable` says.
    """
    key = literal_column("rowid") if dialect == "sqlite" else _QUEUES.c.id
    reference: Any = bindparam("claim_reference") if with_reference else None
    start: Any = bindparam("claim_start") if from_start else None
    where, order = _oldest_claimable(
        bindparam("claim_queue"), reference, bindparam("claim_now"), dialect, start
    )
    target = select(key).where(*where).order_by(*order).limit(1).with_for_update(skip_locked=True)
    return (
        update(_QUEUES)
        .where(key == target.scalar_subquery())
        .values(
            **transition_values(QueueEvent.CLAIM, bindparam("claim_now")),
            job_id=bindparam("claim_job"),
        )
        .returning(*_QUEUES.c)
    )


@functools.cache
def cached_claim(with_reference: bool, dialect: str, from_start: bool = False) -> Any:
    """The claim UPDATE for this shape, built on first use and kept (building them at
    import cost every SDK process start, most of which never claim)."""
    return claim_update_statement(with_reference, dialect, from_start)


class ClaimCursors:
    """Where this process's next claim in a queue starts (PostgreSQL, claims without a
    reference): at the `created_date` of its last claim there, for up to
    `RESCAN_SECONDS` after it last searched the queue from its oldest end.

    Why: a claimed element's old index entry (queue, NEW, created_date) stays until
    vacuum removes it, and while any transaction older than the claim is open neither
    vacuum nor the index scan's "killed" hints may remove it; a claim from the oldest end
    then checks every such entry in the heap. Measured with an idle 60 s transaction
    open: 0.44-0.56 of the normal claim rate, falling as the minute went on
    (docs/benchmarks.md, "Claims while a long transaction holds back vacuum"). From the
    cursor, a claim walks only the entries claimed since this process's last claim.

    What it gives up: an element that is NEW with a `created_date` before the cursor (set
    back to NEW by a retry or the watchdog, created by a machine whose clock is behind,
    or no longer deferred) is not seen by cursor claims; the search from the oldest end,
    at least every `RESCAN_SECONDS`, takes it. A cursor claim that finds nothing searches
    from the oldest end at once, so a queue is never reported empty while it has a
    claimable element. Concurrent claimers never guaranteed strict age order anyway
    (SKIP LOCKED passes over elements being claimed).
    """

    #: The longest a NEW element behind a process's cursor waits for that process.
    RESCAN_SECONDS = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: queue -> (created_date of the last claim, when the queue was last searched whole)
        self._cursors: dict[str, tuple[datetime, float]] = {}

    def start(self, queue_name: str) -> datetime | None:
        """Where the next claim in `queue_name` starts; None: at the oldest end."""
        with self._lock:
            cursor = self._cursors.get(queue_name)
        if cursor is None or time.monotonic() - cursor[1] >= self.RESCAN_SECONDS:
            return None
        return cursor[0]

    def claimed(self, queue_name: str, created: datetime | None, whole: bool) -> None:
        """Record a claim's outcome: the element's `created_date` (None: nothing found),
        `whole` when the search started at the queue's oldest end."""
        with self._lock:
            if created is None:
                self._cursors.pop(queue_name, None)
                return
            searched = time.monotonic()
            if not whole and queue_name in self._cursors:
                searched = self._cursors[queue_name][1]
            self._cursors[queue_name] = (created, searched)

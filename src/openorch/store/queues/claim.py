"""The atomic claim of the next element: the SQL per backend (one UPDATE ... RETURNING
on PostgreSQL and SQLite; a locking SELECT with SQL Server's table hints elsewhere)."""

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, literal_column, or_, select, update

from openorch.database import QueueElement
from openorch.database.base import table_of
from openorch.store.queues.status import QueueEvent, transition_values, where_allowed

_QUEUES = table_of(QueueElement)

#: SQL Server ignores FOR UPDATE; these table hints lock the row and skip locked ones.
MSSQL_CLAIM_HINT = "WITH (UPDLOCK, ROWLOCK, READPAST)"


def _claimable(now: Any) -> Any:
    """NEW and not deferred past `now` (a value or a bind parameter)."""
    return and_(
        *where_allowed(QueueEvent.CLAIM),
        or_(_QUEUES.c.not_before.is_(None), _QUEUES.c.not_before <= now),
    )


def oldest_new_statement(
    queue_name: str, reference: str | None = None, now: datetime | None = None
) -> Any:
    """SELECT of the oldest claimable element of a queue: NEW and not deferred past now.

    Served by the (queue_name, status, created_date) index: rows are read in claim order
    and a deferred one is only skipped, never sorted.
    """
    statement = select(QueueElement).where(
        QueueElement.queue_name == queue_name, _claimable(now or datetime.now())
    )
    if reference is not None:
        statement = statement.where(QueueElement.reference == reference)
    return statement.order_by(QueueElement.created_date).limit(1)


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


def claim_update_statement(with_reference: bool, by_rowid: bool = False) -> Any:
    """One statement that picks, locks and marks the element and returns it:
    UPDATE ... WHERE id = (SELECT id ... FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING ...
    (PostgreSQL and SQLite; one round trip per claim). Parameters: claim_queue, claim_now,
    claim_job (the claiming job, or None) and, `with_reference`, claim_reference. Built
    once: building it per call cost more than running it.

    `by_rowid` (SQLite) picks and updates by the table's rowid, which the index entry
    holds, instead of the UUID key: one B-tree search less per claim, which pays for
    reading `not_before`.
    """
    key = literal_column("rowid") if by_rowid else _QUEUES.c.id
    target = (
        select(key)
        .where(_QUEUES.c.queue_name == bindparam("claim_queue"))
        .where(_claimable(bindparam("claim_now")))
    )
    if with_reference:
        target = target.where(_QUEUES.c.reference == bindparam("claim_reference"))
    target = target.order_by(_QUEUES.c.created_date).limit(1).with_for_update(skip_locked=True)
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
def cached_claim(with_reference: bool, by_rowid: bool) -> Any:
    """The claim UPDATE for this shape, built on first use and kept (building the four
    at import cost every SDK process start, most of which never claim)."""
    return claim_update_statement(with_reference, by_rowid)

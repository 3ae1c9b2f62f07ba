"""Fast insertion of many queue elements, per database.

`bulk_create_queue_elements` with 100,000 elements is normal use. The ORM's generic
executemany spends most of its time building Python objects, so here each backend gets
the fastest path its driver has: COPY on PostgreSQL (psycopg 3), a plain `executemany`
on SQLite, and pyodbc's fast_executemany (set on the engine) elsewhere. All run inside
the caller's transaction, so a failure inserts nothing.

Before that, the checks a bulk call makes on every item (in a few passes over C-level
builtins) and on the queue's unique references (`without_duplicates`).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, exc, func, insert, select
from sqlalchemy.orm import Session

from openorch.database import QueueElement
from openorch.database.base import table_of
from openorch.database.ids import ordered_uuid_bytes
from openorch.store import validation as v
from openorch.store.errors import BadInput, DuplicateReferenceError
from openorch.store.queues.bulk_triggers import (
    one_delta_for_the_batch,
    one_search_note_for_the_batch,
)
from openorch.store.queues.status import QueueEvent, target_of

_COLUMNS = ("id", "queue_name", "status", "data", "reference", "created_date", "created_by")


def spread_stamps(start: datetime, count: int) -> list[str]:
    """`count` timestamps one microsecond apart from `start`, as 'YYYY-MM-DD HH:MM:SS.ffffff'.

    Bulk-created elements get distinct, increasing created_dates, so they are claimed in
    the order given and page stably (no ties for ORDER BY created_date). Built from a
    per-second prefix: formatting 100,000 datetimes one by one costs more than the insert.
    """
    base = start.replace(microsecond=0)
    prefixes: dict[int, str] = {}
    stamps = []
    for offset in range(start.microsecond, start.microsecond + count):
        second, micro = divmod(offset, 1_000_000)
        prefix = prefixes.get(second)
        if prefix is None:
            prefix = (base + timedelta(seconds=second)).strftime("%Y-%m-%d %H:%M:%S")
            prefixes[second] = prefix
        stamps.append(f"{prefix}.{micro:06d}")
    return stamps


def insert_elements(
    session: Session,
    queue_name: str,
    references: Sequence[str | None],
    data: Sequence[str | None],
    created_by: str | None,
    created_date: datetime,
    *,
    unique: bool = False,
    not_before: datetime | None = None,
    deadline: datetime | None = None,
) -> None:
    """Insert one NEW element per (reference, data) pair in the session's transaction.

    `unique` also writes each reference as the element's unique reference (the queue has
    unique references); `not_before` and `deadline` go on every element. Without them the
    rows carry exactly the original columns, so the common case pays nothing extra.
    """
    extra: dict[str, datetime] = {}
    if not_before is not None:
        extra["not_before"] = not_before
    if deadline is not None:
        extra["deadline"] = deadline
    columns = _COLUMNS + (("unique_reference",) if unique else ()) + tuple(extra)
    bind = session.get_bind()
    driver_integrity = bind.dialect.loaded_dbapi.IntegrityError
    try:
        _insert(
            session,
            bind,
            columns,
            queue_name,
            references,
            data,
            created_by,
            created_date,
            unique,
            extra,
        )
    except driver_integrity as error:
        # COPY and the raw executemany bypass SQLAlchemy: report a duplicate the way
        # every other statement does, so callers catch one exception class.
        raise exc.IntegrityError(
            f'bulk insert into "Queues" ({", ".join(columns)})', None, error
        ) from error


def _insert(
    session: Session,
    bind: Any,
    columns: tuple[str, ...],
    queue_name: str,
    references: Sequence[str | None],
    data: Sequence[str | None],
    created_by: str | None,
    created_date: datetime,
    unique: bool,
    extra: dict[str, datetime],
) -> None:
    if bind.dialect.name == "postgresql" and bind.dialect.driver == "psycopg":
        rows = _text_rows(queue_name, references, data, created_by, created_date, unique, extra)
        with (
            _dbapi_connection(session).cursor() as cursor,
            cursor.copy(f'COPY "Queues" ({", ".join(columns)}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)
    elif bind.dialect.name == "sqlite":
        # SQLAlchemy's Uuid on SQLite is 32 hex characters; its DateTime this text format.
        rows = _text_rows(queue_name, references, data, created_by, created_date, unique, extra)
        placeholders = ", ".join("?" for _ in columns)
        cursor = _dbapi_connection(session).cursor()
        try:
            with (
                one_delta_for_the_batch(cursor, queue_name, rows[0][2] or "", len(rows)),
                one_search_note_for_the_batch(cursor, len(rows)),
            ):
                cursor.executemany(
                    f'INSERT INTO "Queues" ({", ".join(columns)}) VALUES ({placeholders})', rows
                )
        finally:
            cursor.close()
    else:
        ids = ordered_uuid_bytes(len(references))
        session.execute(
            insert(table_of(QueueElement)),
            [
                {
                    "id": uuid.UUID(bytes=ids[16 * index : 16 * index + 16]),
                    "queue_name": queue_name,
                    "status": target_of(QueueEvent.CREATE),
                    "data": datum,
                    "reference": reference,
                    "created_date": created_date + timedelta(microseconds=index),
                    "created_by": created_by,
                    **({"unique_reference": reference} if unique else {}),
                    **extra,
                }
                for index, (reference, datum) in enumerate(zip(references, data, strict=True))
            ],
        )


def _text_rows(
    queue_name: str,
    references: Sequence[str | None],
    data: Sequence[str | None],
    created_by: str | None,
    created_date: datetime,
    unique: bool = False,
    extra: dict[str, datetime] | None = None,
) -> list[tuple[str | None, ...]]:
    """Rows in `_COLUMNS` order (then the unique reference and `extra`, when given) with
    ids as 32 hex digits and dates as text, which both PostgreSQL's COPY and SQLite take
    as they are (no per-value adaptation)."""
    hexed = ordered_uuid_bytes(len(references)).hex()
    new = target_of(QueueEvent.CREATE).name  # the stored text is the member's name
    stamps = spread_stamps(created_date, len(references))
    rows: list[tuple[str | None, ...]] = [
        (
            hexed[32 * index : 32 * index + 32],
            queue_name,
            new,
            datum,
            reference,
            stamps[index],
            created_by,
        )
        for index, (reference, datum) in enumerate(zip(references, data, strict=True))
    ]
    if not unique and not extra:
        return rows
    tail = tuple(moment.strftime("%Y-%m-%d %H:%M:%S.%f") for moment in (extra or {}).values())
    if unique:
        return [(*row, row[4], *tail) for row in rows]
    return [(*row, *tail) for row in rows]


def _dbapi_connection(session: Session) -> Any:
    return session.connection().connection.driver_connection


_QUEUES = table_of(QueueElement)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def as_texts(values: Sequence[Any]) -> list[Any]:
    """A bulk column as a list, numbers turned into their text (`v.as_text`)."""
    items = list(values)
    if set(map(type, items)) <= _PLAIN:  # one C-level pass: the usual case costs ~2 ms/100k
        return items
    return [v.as_text(value) for value in items]


_PLAIN = {str, type(None)}


def check_column(field: str, values: Sequence[Any], limit: int) -> None:
    """Check every item of a bulk column in a few passes over C-level builtins; only on
    failure walk the items one by one to name the first bad index."""
    present = [value for value in values if value is not None]
    fine = all(type(value) is str for value in present) and (
        not present or max(map(len, present)) <= limit
    )
    if fine:
        joined = "".join(present)
        fine = "\x00" not in joined and _encodable(joined)
    if fine:
        return
    for index, value in enumerate(values):
        if value is None:
            continue
        if not isinstance(value, str):
            raise BadInput(
                f"{field}[{index}] must be a string or None, not {type(value).__name__}."
            )
        if len(value) > limit:
            raise BadInput(
                f"{field}[{index}] is too long: {len(value)} characters, the limit is {limit}."
            )
        v.check_storable(f"{field}[{index}]", value)


@dataclass(frozen=True)
class BulkCreated:
    """What `bulk_create_queue_elements` did: how many elements it created and which
    references it skipped as duplicates (only with `skip_duplicates`)."""

    created: int
    skipped: tuple[str, ...] = ()


#: Bind-parameter chunk for `IN (...)` lists (SQL Server takes at most 2,100 parameters).
_IN_CHUNK = 1000


def _existing_references(
    connection: Connection, queue_name: str, references: Sequence[str]
) -> set[str]:
    """The references among `references` that an element of the queue already has
    (as its unique reference), one statement per backend where it can."""
    column = _QUEUES.c.unique_reference
    found: set[str] = set()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # Lazy: PostgreSQL only (SDK start-up time on other databases).
        from sqlalchemy import any_
        from sqlalchemy.dialects.postgresql import ARRAY
        from sqlalchemy.types import String

        chunks: list[Any] = [
            column == any_(bindparam("refs", list(references), type_=ARRAY(String)))
        ]
    elif dialect == "sqlite":
        import json

        from sqlalchemy import text

        chunks = [
            column.in_(
                select(text("value")).select_from(
                    func.json_each(bindparam("refs", json.dumps(list(references))))
                )
            )
        ]
    else:
        chunks = [
            column.in_(references[index : index + _IN_CHUNK])
            for index in range(0, len(references), _IN_CHUNK)
        ]
    for condition in chunks:
        found.update(
            connection.execute(
                select(column).where(_QUEUES.c.queue_name == queue_name, condition)
            ).scalars()
        )
    return found


def without_duplicates(
    connection: Connection,
    queue_name: str,
    references: list[str | None],
    data: list[str | None],
    skip: bool,
) -> tuple[list[str | None], list[str | None], tuple[str, ...]]:
    """The items whose reference is new to the queue and to the call, and the skipped
    references; raises naming the duplicates unless `skip`."""
    candidates = list({reference for reference in references if reference is not None})
    existing = _existing_references(connection, queue_name, candidates) if candidates else set()
    seen: set[str] = set()
    duplicates: list[str] = []
    kept_references: list[str | None] = []
    kept_data: list[str | None] = []
    for reference, datum in zip(references, data, strict=True):
        if reference is not None:
            if reference in existing or reference in seen:
                duplicates.append(reference)
                continue
            seen.add(reference)
        kept_references.append(reference)
        kept_data.append(datum)
    if duplicates and not skip:
        raise DuplicateReferenceError(queue_name, list(dict.fromkeys(duplicates)))
    return kept_references, kept_data, tuple(duplicates)

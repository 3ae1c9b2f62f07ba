"""Queue element operations, including the atomic claim of the next element."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, overload

from sqlalchemy import Connection, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from openorch.database import QueueElement, QueueStatus
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store import validation as v
from openorch.store.bulk import insert_elements
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput, NotFound

_QUEUES = table_of(QueueElement)

#: SQL Server ignores FOR UPDATE; these table hints lock the row and skip locked ones.
MSSQL_CLAIM_HINT = "WITH (UPDLOCK, ROWLOCK, READPAST)"

_QUEUE_ORDER_COLUMNS = {
    "reference": QueueElement.reference,
    "status": QueueElement.status,
    "data": QueueElement.data,
    "message": QueueElement.message,
    "created_date": QueueElement.created_date,
    "start_date": QueueElement.start_date,
    "end_date": QueueElement.end_date,
    "created_by": QueueElement.created_by,
    "id": QueueElement.id,
    "queue_name": QueueElement.queue_name,
}

_ENDING_STATUSES = (QueueStatus.DONE, QueueStatus.FAILED, QueueStatus.ABANDONED)


def oldest_new_statement(queue_name: str, reference: str | None = None) -> Any:
    """SELECT of the oldest NEW element of a queue (served by the queue/status/date index)."""
    statement = select(QueueElement).where(
        QueueElement.queue_name == queue_name, QueueElement.status == QueueStatus.NEW
    )
    if reference is not None:
        statement = statement.where(QueueElement.reference == reference)
    return statement.order_by(QueueElement.created_date).limit(1)


def claim_statement(queue_name: str, reference: str | None = None) -> Any:
    """SELECT of the oldest NEW element, locking it and skipping rows others hold.

    PostgreSQL: FOR UPDATE SKIP LOCKED. SQL Server: UPDLOCK/ROWLOCK/READPAST hints
    (SQLAlchemy drops FOR UPDATE there). SQLite: the write transaction serialises.
    """
    return (
        oldest_new_statement(queue_name, reference)
        .with_for_update(skip_locked=True)
        .with_hint(QueueElement, MSSQL_CLAIM_HINT, "mssql")
    )


def claim_update_statement(with_reference: bool) -> Any:
    """One statement that picks, locks and marks the element and returns it:
    UPDATE ... WHERE id = (SELECT id ... FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING ...
    (PostgreSQL and SQLite; one round trip per claim). Parameters: claim_queue, claim_now
    and, `with_reference`, claim_reference. Built once: building it per call cost more
    than running it.
    """
    target = (
        select(_QUEUES.c.id)
        .where(_QUEUES.c.queue_name == bindparam("claim_queue"))
        .where(_QUEUES.c.status == QueueStatus.NEW)
    )
    if with_reference:
        target = target.where(_QUEUES.c.reference == bindparam("claim_reference"))
    target = target.order_by(_QUEUES.c.created_date).limit(1).with_for_update(skip_locked=True)
    return (
        update(_QUEUES)
        .where(_QUEUES.c.id == target.scalar_subquery())
        .values(status=QueueStatus.IN_PROGRESS, start_date=bindparam("claim_now"))
        .returning(*_QUEUES.c)
    )


_CLAIM = {False: claim_update_statement(False), True: claim_update_statement(True)}


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_texts(values: Sequence[Any]) -> list[Any]:
    """A bulk column as a list, numbers turned into their text (`v.as_text`)."""
    items = list(values)
    if set(map(type, items)) <= _PLAIN:  # one C-level pass: the usual case costs ~2 ms/100k
        return items
    return [v.as_text(value) for value in items]


_PLAIN = {str, type(None)}


def _check_column(field: str, values: Sequence[Any], limit: int) -> None:
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


class QueueStore(StoreCore):
    """Creating, claiming, listing and changing queue elements."""

    def create_queue_element(
        self,
        queue_name: str,
        reference: str | None = None,
        data: str | None = None,
        created_by: str | None = None,
    ) -> QueueElement:
        """Add one NEW element to a queue, created now.

        Raises:
            ValueError: a field is invalid.
        """
        element = QueueElement(
            id=new_id(),
            queue_name=v.check_text(QueueElement, "queue_name", queue_name),
            reference=v.check_text(QueueElement, "reference", reference, required=False),
            data=v.check_text(QueueElement, "data", data, required=False),
            created_by=v.check_text(QueueElement, "created_by", created_by, required=False),
            status=QueueStatus.NEW,
            created_date=datetime.now(),
        )

        def work(session: Session) -> QueueElement:
            session.add(element)
            return element

        return self._write(work)

    def bulk_create_queue_elements(
        self,
        queue_name: str,
        references: Sequence[str | None],
        data: Sequence[str | None],
        created_by: str | None = None,
    ) -> None:
        """Add one NEW element per (reference, data) pair, all or nothing, in one transaction.

        Every item is checked before anything is written.

        Raises:
            ValueError: empty or unequal sequences, or any invalid item (named by index).
        """
        queue_name = v.check_text(QueueElement, "queue_name", queue_name)  # type: ignore[assignment]
        created_by = v.check_text(QueueElement, "created_by", created_by, required=False)
        if isinstance(references, str) or isinstance(data, str):
            raise BadInput("references and data must be sequences, not single strings.")
        references = _as_texts(references)
        data = _as_texts(data)
        if not references or not data:
            raise BadInput("references and data must not be empty.")
        if len(references) != len(data):
            raise BadInput(
                f"references and data must have the same length; got {len(references)} "
                f"and {len(data)}."
            )
        _check_column("reference", references, v.column_length(QueueElement, "reference"))
        _check_column("data", data, v.column_length(QueueElement, "data"))
        moment = datetime.now()
        self._write(
            lambda session: insert_elements(
                session, queue_name, references, data, created_by, moment
            )
        )

    def get_next_queue_element(
        self, queue_name: str, reference: str | None = None, set_status: bool = True
    ) -> QueueElement | None:
        """The oldest NEW element of a queue (optionally with this exact reference).

        With `set_status` it becomes IN_PROGRESS with start_date now in the same
        transaction, and no two callers anywhere ever get the same element.

        Raises:
            ValueError: bad queue name or reference.
        """
        queue_name = v.check_text(QueueElement, "queue_name", queue_name)  # type: ignore[assignment]
        reference = v.check_text(QueueElement, "reference", reference, required=False)
        if not set_status:
            peek = oldest_new_statement(queue_name, reference)
            return self._read(lambda session: session.scalars(peek).first())
        if self.dialect in ("postgresql", "sqlite"):
            parameters = {
                "claim_queue": queue_name,
                "claim_reference": reference,
                "claim_now": datetime.now(),
            }
            claim = _CLAIM[reference is not None]

            def claim_one(connection: Connection) -> QueueElement | None:
                row = connection.execute(claim, parameters).first()
                return None if row is None else QueueElement(**row._mapping)

            return self._write_single(claim_one)
        locking = claim_statement(queue_name, reference)

        def work(session: Session) -> QueueElement | None:
            element: QueueElement | None = session.scalars(locking).first()
            if element is None:
                return None
            element.status = QueueStatus.IN_PROGRESS
            element.start_date = datetime.now()
            return element

        return self._write(work)

    def get_queue_element(self, element_id: uuid.UUID | str) -> QueueElement:
        """The element with this id.

        Raises:
            ValueError: bad id, or no such element.
        """
        key = v.check_uuid("element_id", element_id)
        element = self._read(lambda session: session.get(QueueElement, key))
        if element is None:
            raise NotFound(f"No queue element with id {key} exists.")
        return element

    @overload
    def get_queue_elements(
        self,
        queue_name: str,
        reference: str | None = ...,
        status: QueueStatus | str | None = ...,
        from_date: datetime | None = ...,
        to_date: datetime | None = ...,
        offset: int = ...,
        limit: int | None = ...,
        search_term: str | None = ...,
        order_by: str | None = ...,
        order_desc: bool = ...,
        include_count: Literal[False] = ...,
    ) -> tuple[QueueElement, ...]: ...

    @overload
    def get_queue_elements(
        self,
        queue_name: str,
        reference: str | None = ...,
        status: QueueStatus | str | None = ...,
        from_date: datetime | None = ...,
        to_date: datetime | None = ...,
        offset: int = ...,
        limit: int | None = ...,
        search_term: str | None = ...,
        order_by: str | None = ...,
        order_desc: bool = ...,
        *,
        include_count: Literal[True],
    ) -> tuple[tuple[QueueElement, ...], int]: ...

    def get_queue_elements(
        self,
        queue_name: str,
        reference: str | None = None,
        status: QueueStatus | str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        offset: int = 0,
        limit: int | None = 100,
        search_term: str | None = None,
        order_by: str | None = None,
        order_desc: bool = False,
        include_count: bool = False,
    ) -> tuple[QueueElement, ...] | tuple[tuple[QueueElement, ...], int]:
        """A page of a queue's elements, by created_date ascending unless told otherwise.

        `search_term` matches a reference prefix or a substring of data or message.
        With `include_count` returns `(elements, total matching)`.

        Raises:
            ValueError: bad status, paging values or order column.
        """
        queue_name = v.check_text(QueueElement, "queue_name", queue_name)  # type: ignore[assignment]
        v.check_int("offset", offset, minimum=0)
        page_size = v.check_limit(limit)
        filters: list[Any] = [QueueElement.queue_name == queue_name]
        if reference is not None:
            reference = v.check_text(QueueElement, "reference", reference, required=False)
            filters.append(QueueElement.reference == reference)
        if status is not None and status != "":
            filters.append(QueueElement.status == v.check_enum(QueueStatus, "status", status))
        if from_date is not None:
            filters.append(QueueElement.created_date >= v.check_datetime("from_date", from_date))
        if to_date is not None:
            filters.append(QueueElement.created_date <= v.check_datetime("to_date", to_date))
        if search_term:
            if not isinstance(search_term, str):
                raise BadInput(f"search_term must be a string, not {type(search_term).__name__}.")
            v.check_storable("search_term", search_term)
            filters.append(
                or_(
                    QueueElement.reference.startswith(search_term, autoescape=True),
                    QueueElement.data.contains(search_term, autoescape=True),
                    QueueElement.message.contains(search_term, autoescape=True),
                )
            )
        column = _QUEUE_ORDER_COLUMNS.get(v.order_key(order_by) or "created_date")
        if column is None:
            raise BadInput(
                f"order_by must be one of {', '.join(_QUEUE_ORDER_COLUMNS)}; got {order_by!r}."
            )
        ordering = column.desc() if order_desc else column.asc()
        page = (
            select(QueueElement)
            .where(*filters)
            .order_by(ordering)
            .offset(offset)
            .limit(page_size)
        )

        def work(
            session: Session,
        ) -> tuple[QueueElement, ...] | tuple[tuple[QueueElement, ...], int]:
            elements = tuple(session.scalars(page))
            if not include_count:
                return elements
            total = session.scalar(select(func.count()).select_from(QueueElement).where(*filters))
            return elements, int(total or 0)

        return self._read(work)

    def get_queue_count(self) -> dict[str, dict[QueueStatus, int]]:
        """For every queue, the number of elements in each status (zeros included)."""
        statement = select(QueueElement.queue_name, QueueElement.status, func.count()).group_by(
            QueueElement.queue_name, QueueElement.status
        )

        def work(session: Session) -> dict[str, dict[QueueStatus, int]]:
            counts: dict[str, dict[QueueStatus, int]] = {}
            for queue_name, status, count in session.execute(statement):
                per_status = counts.setdefault(queue_name, dict.fromkeys(QueueStatus, 0))
                per_status[status] = int(count)
            return dict(sorted(counts.items()))

        return self._read(work)

    def set_queue_element_status(
        self,
        element_id: uuid.UUID | str,
        status: QueueStatus | str,
        message: str | None = None,
    ) -> None:
        """Change an element's status. IN_PROGRESS stamps start_date; DONE, FAILED and
        ABANDONED stamp end_date; a given message replaces the old one.

        Raises:
            ValueError: bad id, status or message, or no such element.
        """
        key = v.check_uuid("element_id", element_id)
        new_status = v.check_enum(QueueStatus, "status", status)
        values: dict[str, Any] = {"status": new_status}
        if message is not None:
            values["message"] = v.check_text(QueueElement, "message", message, required=False)
        if new_status == QueueStatus.IN_PROGRESS:
            values["start_date"] = datetime.now()
        elif new_status in _ENDING_STATUSES:
            values["end_date"] = datetime.now()
        self._update_element(key, values)

    def update_queue_element(
        self,
        element_id: uuid.UUID | str,
        reference: str | None = None,
        status: QueueStatus | str | None = None,
        data: str | None = None,
        message: str | None = None,
        created_by: str | None = None,
        created_date: datetime | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
    ) -> None:
        """Change the given (non-None) fields of an element.

        Raises:
            ValueError: bad id or field, or no such element.
        """
        key = v.check_uuid("element_id", element_id)
        values: dict[str, Any] = {}
        for field, value in (
            ("reference", reference),
            ("data", data),
            ("message", message),
            ("created_by", created_by),
        ):
            if value is not None:
                values[field] = v.check_text(QueueElement, field, value, required=False)
        if status is not None:
            values["status"] = v.check_enum(QueueStatus, "status", status)
        for field, moment in (
            ("created_date", created_date),
            ("start_date", start_date),
            ("end_date", end_date),
        ):
            if moment is not None:
                values[field] = v.check_datetime(field, moment)
        self._update_element(key, values)

    def _update_element(self, key: uuid.UUID, values: dict[str, Any]) -> None:
        def work(connection: Connection) -> None:
            if values:
                statement = update(_QUEUES).where(_QUEUES.c.id == key).values(**values)
                missing = connection.execute(statement).rowcount == 0
            else:
                found = connection.execute(select(_QUEUES.c.id).where(_QUEUES.c.id == key))
                missing = found.first() is None
            if missing:
                raise NotFound(f"No queue element with id {key} exists.")

        self._write_single(work)  # one statement either way

    def delete_queue_element(self, element_id: uuid.UUID | str) -> None:
        """Delete an element.

        Raises:
            ValueError: bad id, or no such element.
        """
        key = v.check_uuid("element_id", element_id)

        def work(session: Session) -> None:
            result = session.execute(delete(_QUEUES).where(_QUEUES.c.id == key))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"No queue element with id {key} exists.")

        self._write(work)

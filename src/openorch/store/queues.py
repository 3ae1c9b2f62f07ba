"""Queue element operations, including the atomic claim of the next element."""

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, overload

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    exc,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from openorch.database import JobStatus, QueueElement, QueueSettings, QueueStatus
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store import validation as v
from openorch.store.bulk import insert_elements
from openorch.store.element_history import actor_of, record_event, record_events
from openorch.store.errors import (
    BadInput,
    Contended,
    DuplicateReferenceError,
    NotFound,
    StoreError,
)
from openorch.store.paging import page_statement, read_page
from openorch.store.pipeline_rows import delete_orphaned_progress, delete_progress, step_filter
from openorch.store.queue_counts import QueueCountStore, queue_total
from openorch.store.queue_settings import QueueSettingsStore, deadline_of, read_settings
from openorch.store.queue_state import (
    OUT_OF_ATTEMPTS,
    QueueEvent,
    apply,
    sources_of,
    target_of,
    transition_values,
    where_allowed,
)
from openorch.store.review import after_failure, check_kind, fail_element
from openorch.store.search import SearchStore

_QUEUES = table_of(QueueElement)
#: Statuses `set_queue_element_status` records in the element's history (FAILED goes
#: through store/review.py); DONE and IN_PROGRESS are read from the element's columns.
_RECORDED_BY_SET = frozenset({QueueStatus.NEW, QueueStatus.ABANDONED})
_SETTINGS = table_of(QueueSettings)

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
    "attempts": QueueElement.attempts,
    "not_before": QueueElement.not_before,
    "deadline": QueueElement.deadline,
    "queue_name": QueueElement.queue_name,
}

#: The statuses an element can be overdue in (a finished element is never overdue).
_OPEN_STATUSES = (QueueStatus.NEW, QueueStatus.IN_PROGRESS)

#: Which elements each bulk action of the Orchestrator touches, by status.
#: (The statuses come from store/queue_state.py's table.)
BULK_ACTION_STATUSES: dict[str, tuple[QueueStatus, ...]] = {
    "retry": sources_of(QueueEvent.ADMIN_RETRY),
    "abandon": sources_of(QueueEvent.ADMIN_ABANDON),
    "delete": tuple(QueueStatus),
}


def format_datetime(value: datetime) -> str:
    """A time in the messages the data layer writes: dd-mm-YYYY HH:MM:SS, as screens show it."""
    return value.strftime("%d-%m-%Y %H:%M:%S")


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
def _claim(with_reference: bool, by_rowid: bool) -> Any:
    """The claim UPDATE for this shape, built on first use and kept (building the four
    at import cost every SDK process start, most of which never claim)."""
    return claim_update_statement(with_reference, by_rowid)


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


def _without_duplicates(
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


def _duplicate_reference(error: exc.IntegrityError) -> bool:
    return "unique_reference" in str(error).lower()


class QueueStore(QueueCountStore, SearchStore):
    """Creating, claiming, listing and changing queue elements."""

    def create_queue_element(
        self,
        queue_name: str,
        reference: str | None = None,
        data: str | None = None,
        created_by: str | None = None,
        *,
        not_before: datetime | None = None,
        deadline: datetime | None = None,
        element_id: uuid.UUID | str | None = None,
    ) -> QueueElement:
        """Add one NEW element to a queue, created now.

        `not_before` defers it (not claimed before then); `deadline` says when it must be
        done (default: the queue's default deadline after now, if it has one). On a queue
        with unique references, a reference already used there is refused. `element_id`
        lets a caller that retries after a lost answer create the same element again
        (the second insert finds it and returns it).

        Raises:
            DuplicateReferenceError: (a ValueError) the queue's references are unique and
                this one exists.
            ValueError: a field is invalid.
        """
        key = v.check_optional_uuid("element_id", element_id) or new_id()
        now = datetime.now()
        creator = actor_of(self, None) or created_by
        element = QueueElement(
            id=key,
            queue_name=v.check_text(QueueElement, "queue_name", queue_name),
            reference=v.check_text(QueueElement, "reference", reference, required=False),
            data=v.check_text(QueueElement, "data", data, required=False),
            created_by=v.check_text(QueueElement, "created_by", created_by, required=False),
            status=target_of(QueueEvent.CREATE),
            created_date=now,
            not_before=v.check_datetime("not_before", not_before, required=False),
            deadline=v.check_datetime("deadline", deadline, required=False),
        )

        def work(session: Session) -> QueueElement:
            settings = read_settings(session.connection(), element.queue_name)
            if settings.unique_references:
                element.unique_reference = element.reference
            default_deadline = deadline_of(settings)
            if element.deadline is None and default_deadline is not None:
                element.deadline = now + default_deadline
            session.add(element)
            record_event(session.connection(), key, "created", creator, now)
            return element

        try:
            return self._write(work)
        except exc.IntegrityError as error:
            if element_id is not None:
                existing = self._read(lambda session: session.get(QueueElement, key))
                if existing is not None:
                    return existing
            if _duplicate_reference(error):
                raise DuplicateReferenceError(queue_name, [reference or ""]) from None
            raise

    def bulk_create_queue_elements(
        self,
        queue_name: str,
        references: Sequence[str | None],
        data: Sequence[str | None],
        created_by: str | None = None,
        *,
        skip_duplicates: bool = False,
        not_before: datetime | None = None,
        deadline: datetime | None = None,
    ) -> BulkCreated:
        """Add one NEW element per (reference, data) pair, all or nothing, in one transaction.

        Every item is checked before anything is written. On a queue with unique
        references, references that exist already (or repeat within the call) make the
        whole call fail, naming them; with `skip_duplicates` those items are skipped
        instead (the first of a repeated reference is kept) and the result says which.
        `not_before` and `deadline` apply to every element (deadline default: the
        queue's default deadline after now).

        Raises:
            DuplicateReferenceError: (a ValueError) duplicates, without `skip_duplicates`.
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
        v.check_bool("skip_duplicates", skip_duplicates)
        v.check_datetime("not_before", not_before, required=False)
        v.check_datetime("deadline", deadline, required=False)
        for _ in range(5):
            moment = datetime.now()

            def work(session: Session, moment: datetime = moment) -> BulkCreated:
                settings = read_settings(session.connection(), queue_name)
                default_deadline = deadline_of(settings)
                due = deadline
                if due is None and default_deadline is not None:
                    due = moment + default_deadline
                refs, items = references, data
                skipped: tuple[str, ...] = ()
                if settings.unique_references:
                    refs, items, skipped = _without_duplicates(
                        session.connection(), queue_name, references, data, skip_duplicates
                    )
                if refs:
                    insert_elements(
                        session,
                        queue_name,
                        refs,
                        items,
                        created_by,
                        moment,
                        unique=settings.unique_references,
                        not_before=not_before,
                        deadline=due,
                    )
                return BulkCreated(len(refs), skipped)

            try:
                return self._write(work)
            except exc.IntegrityError as error:
                # Another process added one of these references since the check: check again.
                if isinstance(error, DuplicateReferenceError) or not _duplicate_reference(error):
                    raise
        raise Contended(
            f"Queue {queue_name!r}: other processes kept adding the same references; "
            "nothing was created. Try again."
        )

    def get_next_queue_element(
        self,
        queue_name: str,
        reference: str | None = None,
        set_status: bool = True,
        job_id: uuid.UUID | str | None = None,
    ) -> QueueElement | None:
        """The oldest claimable element of a queue (NEW, and not deferred past now;
        optionally with this exact reference).

        With `set_status` it becomes IN_PROGRESS with start_date now in the same
        statement, bound to `job_id` when given (so the end of that job releases it), and
        no two callers anywhere ever get the same element.

        Raises:
            ValueError: bad queue name, reference or job id.
        """
        if queue_name is None:  # no queue has no name: nothing to claim (as the original)
            return None
        queue_name = v.check_text(QueueElement, "queue_name", queue_name)  # type: ignore[assignment]
        reference = v.check_text(QueueElement, "reference", reference, required=False)
        job = v.check_optional_uuid("job_id", job_id)
        now = datetime.now()
        if not set_status:
            peek = oldest_new_statement(queue_name, reference, now)
            return self._read(lambda session: session.scalars(peek).first())
        if self.dialect in ("postgresql", "sqlite"):
            parameters = {
                "claim_queue": queue_name,
                "claim_reference": reference,
                "claim_now": now,
                "claim_job": job,
            }
            claim = _claim(reference is not None, self.dialect == "sqlite")

            def claim_one(connection: Connection) -> QueueElement | None:
                row = connection.execute(claim, parameters).first()
                return None if row is None else QueueElement(**row._mapping)

            return self._write_single(claim_one)
        locking = claim_statement(queue_name, reference, now)

        def work(session: Session) -> QueueElement | None:
            element: QueueElement | None = session.scalars(locking).first()
            if element is None:
                return None
            apply(element, QueueEvent.CLAIM, now)
            element.job_id = job
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
        overdue: bool = ...,
        in_progress_longer_than: timedelta | None = ...,
        pipeline_step: str | None = ...,
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
        overdue: bool = ...,
        in_progress_longer_than: timedelta | None = ...,
        pipeline_step: str | None = ...,
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
        overdue: bool = False,
        in_progress_longer_than: timedelta | None = None,
        pipeline_step: str | None = None,
    ) -> tuple[QueueElement, ...] | tuple[tuple[QueueElement, ...], int]:
        """A page of a queue's elements, by created_date ascending unless told otherwise.

        `search_term` matches a reference prefix or a substring of data or message.
        `overdue` keeps NEW and IN_PROGRESS elements past their deadline;
        `in_progress_longer_than` keeps elements IN_PROGRESS for longer than that;
        `pipeline_step` keeps elements whose pipeline stands at that step.
        With `include_count` returns `(elements, total matching)`.

        Raises:
            ValueError: bad status, paging values or order column.
        """
        queue_name = v.check_text(QueueElement, "queue_name", queue_name)  # type: ignore[assignment]
        v.check_int("offset", offset, minimum=0)
        v.check_limit(limit)
        filters = element_filters(
            queue_name,
            reference,
            status,
            from_date,
            to_date,
            search_term,
            overdue,
            in_progress_longer_than,
            datetime.now(),
            pipeline_step,
        )
        filters += self._search_prefilter(search_term)
        # The total of an unfiltered view (the Queues tab's first render) comes from the
        # maintained counts (store/queue_counts.py) instead of counting the index.
        plain = reference is None and not search_term and from_date is None and not overdue
        plain = plain and to_date is None and in_progress_longer_than is None
        plain = plain and not pipeline_step and include_count
        counted = plain and self._counts_maintained()
        shown = v.check_enum(QueueStatus, "status", status) if counted and status else None
        page = page_statement(
            QueueElement,
            filters,
            columns=_QUEUE_ORDER_COLUMNS,
            default="created_date",
            order_by=order_by,
            order_desc=order_desc,
            offset=offset,
            limit=limit,
        )

        def work(
            session: Session,
        ) -> tuple[QueueElement, ...] | tuple[tuple[QueueElement, ...], int]:
            if counted:  # in the page's own read transaction: one connection, one snapshot
                rows = read_page(session, page, QueueElement, filters, False)
                total = queue_total(session.connection(), queue_name, shown)
                return rows, total  # type: ignore[return-value]
            return read_page(session, page, QueueElement, filters, include_count)

        return self._read(work)

    def get_queue_count(self, queue_name: str | None = None) -> dict[str, dict[QueueStatus, int]]:
        """For every queue (or only `queue_name`), the number of elements in each status
        (zeros included; a queue without elements is left out).

        From the counts the database maintains (store/queue_counts.py) where it has
        them, else one GROUP BY over the elements."""
        if queue_name is not None:
            name = str(v.check_text(QueueElement, "queue_name", queue_name))
            one = self._maintained_one_queue(name)
            if one is not None:
                return {name: one} if any(one.values()) else {}
            return {
                key: counts for key, counts in self.count_queues_by_scan().items() if key == name
            }
        maintained = self._maintained_queue_counts()
        if maintained is not None:
            return maintained
        return self.count_queues_by_scan()

    def count_queues_by_scan(self) -> dict[str, dict[QueueStatus, int]]:
        """`get_queue_count` the original's way: one GROUP BY over every element (the
        fallback, the benchmarks' floor and the tests' truth)."""
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
        *,
        kind: str | None = None,
        actor: str | None = None,
    ) -> None:
        """Change an element's status. IN_PROGRESS stamps start_date; DONE, FAILED and
        ABANDONED stamp end_date; a given message replaces the old one.

        FAILED takes a `kind`: "business" (the case is wrong; per the queue's setting it
        goes to review) or "application" (the default, as the original). Either way the
        failure is recorded in the element's history (by `actor`, default the store's).

        Raises:
            ValueError: bad id, status, kind or message, or no such element.
        """
        key = v.check_uuid("element_id", element_id)
        new_status = v.check_enum(QueueStatus, "status", status)
        if new_status is QueueStatus.FAILED:
            failure = check_kind(kind)
            text = v.check_text(QueueElement, "message", message, required=False)
            who = actor_of(self, actor)
            self._write_core(
                lambda connection: fail_element(connection, key, text, failure, datetime.now(), who)
            )
            return
        if kind is not None:
            raise BadInput("kind is given with status FAILED only.")
        now = datetime.now()
        values = transition_values(QueueEvent.SET, now, new_status)
        if message is not None:
            values["message"] = v.check_text(QueueElement, "message", message, required=False)
        if new_status not in _RECORDED_BY_SET:
            # DONE and IN_PROGRESS read from the element's own columns (end_date,
            # start_date): the happy path writes no history row.
            self._update_element(key, values)
            return
        who = actor_of(self, actor)

        def work(connection: Connection) -> None:
            statement = update(_QUEUES).where(_QUEUES.c.id == key).values(**values)
            if connection.execute(statement).rowcount == 0:
                raise NotFound(f"No queue element with id {key} exists.")
            event = "abandoned" if new_status is QueueStatus.ABANDONED else "retried"
            record_event(connection, key, event, who, now, message=message, status=new_status)

        self._write_core(work)

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
            edited = v.check_enum(QueueStatus, "status", status)
            values.update(transition_values(QueueEvent.EDIT, None, edited))
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
            delete_progress(session.connection(), [key])

        self._write(work)


def _stamp(moment: datetime | None) -> str:
    """A moment as stored messages show it (sortable, unambiguous)."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def element_filters(
    queue_name: str,
    reference: str | None = None,
    status: QueueStatus | str | None = None,
    from_date: datetime | None = None,
    to_date: datetime | None = None,
    search_term: str | None = None,
    overdue: bool = False,
    in_progress_longer_than: timedelta | None = None,
    now: datetime | None = None,
    pipeline_step: str | None = None,
) -> list[Any]:
    """The WHERE terms of a filtered view of one queue (the queue dialog's filters), shared
    by paging, counting and the bulk actions so they always agree on "the filtered ones".

    Raises:
        ValueError: a bad filter value.
    """
    moment = now or datetime.now()
    queue_name = v.check_text(QueueElement, "queue_name", queue_name)  # type: ignore[assignment]
    filters: list[Any] = [_QUEUES.c.queue_name == queue_name]
    if reference is not None:
        reference = v.check_text(QueueElement, "reference", reference, required=False)
        filters.append(_QUEUES.c.reference == reference)
    if status is not None and status != "":
        filters.append(_QUEUES.c.status == v.check_enum(QueueStatus, "status", status))
    if from_date is not None:
        filters.append(_QUEUES.c.created_date >= v.check_datetime("from_date", from_date))
    if to_date is not None:
        filters.append(_QUEUES.c.created_date <= v.check_datetime("to_date", to_date))
    if search_term:
        if not isinstance(search_term, str):
            raise BadInput(f"search_term must be a string, not {type(search_term).__name__}.")
        v.check_storable("search_term", search_term)
        filters.append(
            or_(
                _QUEUES.c.reference.startswith(search_term, autoescape=True),
                _QUEUES.c.data.contains(search_term, autoescape=True),
                _QUEUES.c.message.contains(search_term, autoescape=True),
            )
        )
    if v.check_bool("overdue", overdue):
        filters.append(_QUEUES.c.status.in_(_OPEN_STATUSES))
        filters.append(_QUEUES.c.deadline < moment)
    if in_progress_longer_than is not None:
        if not isinstance(in_progress_longer_than, timedelta) or (
            in_progress_longer_than < timedelta(0)
        ):
            raise BadInput("in_progress_longer_than must be a duration (timedelta) of 0 or more.")
        filters.append(_QUEUES.c.status == QueueStatus.IN_PROGRESS)
        filters.append(_QUEUES.c.start_date < moment - in_progress_longer_than)
    if pipeline_step is not None and pipeline_step != "":
        if not isinstance(pipeline_step, str):
            raise BadInput(f"pipeline_step must be a string, not {type(pipeline_step).__name__}.")
        v.check_storable("pipeline_step", pipeline_step)
        # The step filter names the queue itself (Pipeline_Runs.queue_name): without the
        # plain queue term, planners drive from its small (queue_name, step) index
        # instead of walking the whole queue testing each element.
        filters[0] = step_filter(queue_name, pipeline_step)
    return filters


# --- releasing and retrying (data-layer functions over an open Core connection) ------


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
    review per the queue's setting (store/review.py)."""
    used = attempt.attempts + 1
    values: dict[str, Any] = {"attempts": used}
    if kind == "business":
        event = QueueEvent.FAIL
        outcome = "FAILED: a business failure is not retried."
        values.update(transition_values(event, now))
    elif used < attempt.max_attempts:
        event = QueueEvent.RETRY
        not_before = now + attempt.retry_delay if attempt.retry_delay else None
        when = f", not before {_stamp(not_before)}" if not_before else ""
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


#: Statuses an attempt ends in or is still in (counted by `attempts_made`, not stored).
_ATTEMPT_IN_STATUS = (QueueStatus.IN_PROGRESS, QueueStatus.DONE, QueueStatus.FAILED)


def attempts_made(element: QueueElement) -> int:
    """How many times the element was taken up, as an admin counts: the stored
    `attempts` (attempts that ended without finishing it: retried or abandoned) plus the
    one it is in, or that ended it Done or Failed. A Failed element showed "Attempts 0"."""
    ended = element.attempts or 0
    current = element.status in _ATTEMPT_IN_STATUS and element.start_date is not None
    return ended + (1 if current else 0)


def describe_duration(duration: timedelta) -> str:
    """A short human duration: '45 s', '12 min', '3 h 5 min', '2 d 4 h'."""
    seconds = max(0, int(duration.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@dataclass(frozen=True)
class QueueOverview:
    """One line of the Queues tab: counts per status, the age of the oldest NEW element,
    how many NEW/IN_PROGRESS elements are past their deadline, and the settings."""

    queue_name: str
    counts: dict[QueueStatus, int]
    oldest_new: datetime | None
    past_deadline: int
    settings: QueueSettings | None


_FILTER_NAMES = frozenset(
    (
        "reference",
        "status",
        "from_date",
        "to_date",
        "search_term",
        "overdue",
        "in_progress_longer_than",
        "pipeline_step",
    )
)


class QueueAdminStore(QueueStore, QueueSettingsStore):
    """What the process in hand and the admin do beyond the original's operations:
    retries, releases, bulk actions on a filtered view, and the queue overview."""

    def retry_queue_element(
        self,
        element_id: uuid.UUID | str,
        message: str | None = None,
        *,
        kind: str | None = None,
        actor: str | None = None,
    ) -> QueueStatus:
        """Give up the current attempt at an IN_PROGRESS element: back to NEW with
        attempts + 1 (after the queue's retry delay) when attempts remain, otherwise
        FAILED. A business failure (`kind="business"`) is never retried: FAILED at once
        (and to review, per the queue's setting). Returns the new status.

        Raises:
            ValueError: bad id, kind or message, no such element, or it is not IN_PROGRESS.
        """
        key = v.check_uuid("element_id", element_id)
        failure = check_kind(kind)
        v.check_text(QueueElement, "message", message, required=False)
        who = actor_of(self, actor)
        return self._write_core(
            lambda connection: retry_element(connection, key, message, datetime.now(), failure, who)
        )

    def release_queue_element(
        self, element_id: uuid.UUID | str, *, actor: str | None = None
    ) -> QueueStatus:
        """Release an element stuck IN_PROGRESS (an admin's action): NEW while its queue
        allows another attempt, otherwise ABANDONED. Returns the new status.

        Raises:
            ValueError: bad id, no such element, or it is not IN_PROGRESS.
        """
        key = v.check_uuid("element_id", element_id)
        who = actor_of(self, actor)
        return self._write_core(
            lambda connection: release_element(connection, key, datetime.now(), who)
        )

    def count_queue_action(self, action: str, queue_name: str, **filters: Any) -> int:
        """How many of the filtered elements `apply_queue_action` would change (to ask
        the admin first). `filters` are those of `element_filters`.

        Raises:
            ValueError: unknown action or bad filter.
        """
        conditions = self._action_conditions(action, queue_name, filters)
        conditions += self._search_prefilter(filters.get("search_term"))
        statement = select(func.count()).select_from(_QUEUES).where(*conditions)
        return int(self._read(lambda session: session.scalar(statement)) or 0)

    def apply_queue_action(
        self, action: str, queue_name: str, *, actor: str | None = None, **filters: Any
    ) -> int:
        """Apply a bulk action to the filtered elements of a queue, in one transaction:
        "retry" (IN_PROGRESS, FAILED, ABANDONED -> NEW, claimable at once), "abandon"
        (NEW, IN_PROGRESS -> ABANDONED) or "delete" (any status). Returns how many.
        Each retried or abandoned element's history gets a row naming `actor` (default:
        the store's `history_actor`); deleted elements take their history with them.

        Raises:
            ValueError: unknown action or bad filter.
        """
        conditions = self._action_conditions(action, queue_name, filters)
        now = datetime.now()
        who = actor_of(self, actor)
        if action == "delete":

            def delete_them(connection: Connection) -> int:
                count = int(connection.execute(delete(_QUEUES).where(*conditions)).rowcount)
                if count:
                    # The deleted elements' pipeline progress goes with them.
                    delete_orphaned_progress(connection)
                return count

            return self._write_core(delete_them)
        if action == "retry":
            event, history, message = QueueEvent.ADMIN_RETRY, "retried", "Set back to NEW"
            extra: dict[str, Any] = {"not_before": None}
        else:
            event, history, message = QueueEvent.ADMIN_ABANDON, "abandoned", "Abandoned"
            extra = {}
        message = f"{message} by an admin on {_stamp(now)}."

        def change_them(connection: Connection) -> int:
            statement = (
                update(_QUEUES)
                .where(*conditions)
                .values(**transition_values(event, now), message=message, **extra)
            )
            # SQL Server refuses OUTPUT on a table with triggers (the counts' trigger).
            if connection.dialect.update_returning and connection.dialect.name != "mssql":
                # Exactly the elements this UPDATE changed get a history row.
                keys = list(connection.execute(statement.returning(_QUEUES.c.id)).scalars())
            else:  # an old SQLite: the ids first, in the same (write-locked) transaction
                keys = list(connection.execute(select(_QUEUES.c.id).where(*conditions)).scalars())
                connection.execute(statement)
            record_events(
                connection, keys, history, who, now, message=message, status=target_of(event)
            )
            return len(keys)

        return self._write_core(change_them)

    @staticmethod
    def _action_conditions(action: str, queue_name: str, filters: dict[str, Any]) -> list[Any]:
        statuses = BULK_ACTION_STATUSES.get(action)
        if statuses is None:
            raise BadInput(
                f"action must be one of {', '.join(BULK_ACTION_STATUSES)}; got {action!r}."
            )
        unknown = set(filters) - _FILTER_NAMES
        if unknown:
            raise BadInput(f"Unknown filter(s): {', '.join(sorted(unknown))}.")
        conditions = element_filters(queue_name, **filters)
        if action != "delete":
            conditions.append(_QUEUES.c.status.in_(statuses))
        return conditions

    def get_queue_overview(self) -> list[QueueOverview]:
        """Every queue (with elements or settings), with counts per status, the created
        date of its oldest NEW element and how many NEW/IN_PROGRESS elements are past
        their deadline. Index-served: one MIN per queue, one grouped count on the
        (status, deadline) index."""
        counts = self.get_queue_count()
        settings = self.get_all_queue_settings()
        now = datetime.now()
        overdue = (
            select(_QUEUES.c.queue_name, func.count())
            .where(_QUEUES.c.status.in_(_OPEN_STATUSES), _QUEUES.c.deadline < now)
            .group_by(_QUEUES.c.queue_name)
        )

        def work(session: Session) -> list[QueueOverview]:
            late = {name: int(count) for name, count in session.execute(overdue)}
            lines = []
            for name in sorted(set(counts) | set(settings)):
                per_status = counts.get(name) or dict.fromkeys(QueueStatus, 0)
                oldest = None
                if per_status.get(QueueStatus.NEW):
                    oldest = session.scalar(
                        select(func.min(_QUEUES.c.created_date)).where(
                            _QUEUES.c.queue_name == name, _QUEUES.c.status == QueueStatus.NEW
                        )
                    )
                lines.append(
                    QueueOverview(name, per_status, oldest, late.get(name, 0), settings.get(name))
                )
            return lines

        return self._read(work)

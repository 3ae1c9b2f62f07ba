"""Queue elements: create (one or in bulk), claim the next, read, page, count, change
and delete; and `element_filters`, the one meaning of a filtered view of a queue."""

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, overload

from sqlalchemy import Connection, delete, exc, func, or_, select, update
from sqlalchemy.orm import Session

from openorch.database import QueueElement, QueueStatus
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store import validation as v
from openorch.store.errors import BadInput, Contended, DuplicateReferenceError, NotFound
from openorch.store.paging import page_statement, read_page
from openorch.store.queues.bulk import (
    BulkCreated,
    as_texts,
    check_column,
    insert_elements,
    without_duplicates,
)
from openorch.store.queues.claim import (
    ClaimCursors,
    cached_claim,
    claim_statement,
    oldest_new_statement,
)
from openorch.store.queues.counts import QueueCountStore, queue_total
from openorch.store.queues.history import actor_of, record_event
from openorch.store.queues.pipelines import delete_progress, step_filter
from openorch.store.queues.review import check_kind, fail_element
from openorch.store.queues.search import SearchStore
from openorch.store.queues.settings import deadline_of, read_settings
from openorch.store.queues.status import QueueEvent, apply, target_of, transition_values

_QUEUES = table_of(QueueElement)
#: Statuses `set_queue_element_status` records in the element's history (FAILED goes
#: through store/queues/review.py); DONE and IN_PROGRESS are read from the element's columns.
_RECORDED_BY_SET = frozenset({QueueStatus.NEW, QueueStatus.ABANDONED})

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
OPEN_STATUSES = (QueueStatus.NEW, QueueStatus.IN_PROGRESS)


def _duplicate_reference(error: exc.IntegrityError) -> bool:
    return "unique_reference" in str(error).lower()


class QueueStore(QueueCountStore, SearchStore):
    """Creating, claiming, listing and changing queue elements."""

    @functools.cached_property
    def _claim_cursors(self) -> ClaimCursors:
        """Where this Store's next claim per queue starts (PostgreSQL; see ClaimCursors)."""
        return ClaimCursors()

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
        references = as_texts(references)
        data = as_texts(data)
        if not references or not data:
            raise BadInput("references and data must not be empty.")
        if len(references) != len(data):
            raise BadInput(
                f"references and data must have the same length; got {len(references)} "
                f"and {len(data)}."
            )
        check_column("reference", references, v.column_length(QueueElement, "reference"))
        check_column("data", data, v.column_length(QueueElement, "data"))
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
                    refs, items, skipped = without_duplicates(
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
            peek = oldest_new_statement(queue_name, reference, now, self.dialect)
            return self._read(lambda session: session.scalars(peek).first())
        if self.dialect in ("postgresql", "sqlite"):
            parameters = {
                "claim_queue": queue_name,
                "claim_reference": reference,
                "claim_now": now,
                "claim_job": job,
            }
            if self.dialect == "postgresql" and reference is None:
                return self._claim_from_cursor(queue_name, parameters)
            return self._claim_once(cached_claim(reference is not None, self.dialect), parameters)
        locking = claim_statement(queue_name, reference, now)

        def work(session: Session) -> QueueElement | None:
            element: QueueElement | None = session.scalars(locking).first()
            if element is None:
                return None
            apply(element, QueueEvent.CLAIM, now)
            element.job_id = job
            return element

        return self._write(work)

    def _claim_once(self, claim: Any, parameters: dict[str, Any]) -> QueueElement | None:
        def claim_one(connection: Connection) -> QueueElement | None:
            row = connection.execute(claim, parameters).first()
            return None if row is None else QueueElement(**row._mapping)

        return self._write_single(claim_one)

    def _claim_from_cursor(
        self, queue_name: str, parameters: dict[str, Any]
    ) -> QueueElement | None:
        """PostgreSQL's claim without a reference: from this Store's cursor in the queue
        when it has a fresh one, else (or when that finds nothing) from the oldest end
        (see `ClaimCursors` for why)."""
        cursors = self._claim_cursors
        start = cursors.start(queue_name)
        if start is not None:
            claim = cached_claim(False, "postgresql", True)
            element = self._claim_once(claim, {**parameters, "claim_start": start})
            if element is not None:
                cursors.claimed(queue_name, element.created_date, whole=False)
                return element
        element = self._claim_once(cached_claim(False, "postgresql"), parameters)
        cursors.claimed(queue_name, None if element is None else element.created_date, True)
        return element

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
        filters += self._search_prefilter(search_term, queue_name)
        # The total of an unfiltered view (the Queues tab's first render) comes from the
        # maintained counts (store/queues/counts.py) instead of counting the index.
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

        From the counts the database maintains (store/queues/counts.py) where it has
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
        filters.append(_QUEUES.c.status.in_(OPEN_STATUSES))
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

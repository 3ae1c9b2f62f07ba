"""The review inbox: elements a person must look at, and their decisions (issue 27).

A robot meets two kinds of failure: an *application* failure (a timeout, a crashed page:
retry it, as the queue's settings allow) and a *business* failure (the case itself is
wrong: retrying is pointless). Per queue, a setting says what goes to review: business
failures (default on) and application failures whose retries are used up (default off).
A pipeline step may also ask for a person's decision (`wait_for_review`).

An element in review stays FAILED in `Queues.status`, so the original OpenOrchestrator
reads it as the FAILED element it is; the review itself is a row of `Queue_Reviews`.
Deciding is one transaction: a conditional UPDATE of the item (`WHERE state = 'open'`),
so of two people deciding the same item at once exactly one wins and the other gets
`AlreadyDecided`, then the element's change and a history row.

Decisions: retry (back to NEW, attempts reset, optionally with edited data), done (handled
by hand), failed (final), abandon, and for a pipeline's question continue (the pipeline
resumes at its next step, the filled form in its state). A comment is required for the
final ones (done, failed, abandon).
"""

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.orm import Session

from openorch.database import PipelineRun, QueueElement, QueueSettings, QueueStatus, ReviewItem
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.errors import AlreadyDecided, BadInput, NotFound
from openorch.store.queues.history import record_event
from openorch.store.queues.status import QueueEvent, transition_values

_REVIEWS = table_of(ReviewItem)
_QUEUES = table_of(QueueElement)
_SETTINGS = table_of(QueueSettings)
_RUNS = table_of(PipelineRun)

#: The kinds of failure a process reports; anything without a kind is an application one.
FAILURE_KINDS = ("business", "application")
#: Why an item is in review: a failure of either kind, or a pipeline step's question.
ITEM_KINDS = (*FAILURE_KINDS, "decision")
DECISIONS = ("retry", "done", "failed", "abandon", "continue")
#: Decisions that end the element: these need a comment.
FINAL_DECISIONS = ("done", "failed", "abandon")
ALLOWED_DECISIONS: dict[str, tuple[str, ...]] = {
    "business": ("retry", "done", "failed", "abandon"),
    "application": ("retry", "done", "failed", "abandon"),
    "decision": ("continue", "done", "failed", "abandon"),
}
STATES = ("open", "decided")

#: What the default settings send to review: business failures yes, exhausted retries no.
DEFAULT_REVIEW_BUSINESS = True
DEFAULT_REVIEW_EXHAUSTED = False

_BULK_LIMIT = 10_000


def check_kind(kind: Any) -> str:
    """A failure kind: "business" or "application" (None: "application").

    Raises:
        BadInput: any other value.
    """
    if kind is None:
        return "application"
    if kind not in FAILURE_KINDS:
        raise BadInput(f"kind must be 'business' or 'application', not {kind!r}.")
    return str(kind)


def review_policy(connection: Connection, queue_name: str) -> tuple[bool, bool]:
    """(business failures go to review, exhausted application retries go to review) for
    the queue; NULL or no settings row means the defaults."""
    row = connection.execute(
        select(_SETTINGS.c.review_business, _SETTINGS.c.review_exhausted).where(
            _SETTINGS.c.queue_name == queue_name
        )
    ).first()
    business = None if row is None else row.review_business
    exhausted = None if row is None else row.review_exhausted
    return (
        DEFAULT_REVIEW_BUSINESS if business is None else bool(business),
        DEFAULT_REVIEW_EXHAUSTED if exhausted is None else bool(exhausted),
    )


def _cut(model_field: str, text: str | None) -> str | None:
    if text is None:
        return None
    limit = v.column_length(ReviewItem, model_field)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def open_review(
    connection: Connection,
    element_id: uuid.UUID,
    queue_name: str,
    reason: str | None,
    kind: str,
    now: datetime,
    actor: str | None,
    form: Any = None,
) -> uuid.UUID:
    """Open a review item for the element in the caller's transaction (closing an older
    open one of the same element, which no longer describes it) and record "review"."""
    connection.execute(
        update(_REVIEWS)
        .where(_REVIEWS.c.element_id == element_id, _REVIEWS.c.state == "open")
        .values(state="decided", decision="superseded", decided_date=now)
    )
    item_id = new_id()
    connection.execute(
        _REVIEWS.insert().values(
            id=item_id,
            element_id=element_id,
            queue_name=queue_name,
            reason=_cut("reason", reason),
            kind=kind,
            created_date=now,
            assignee=None,
            state="open",
            decision=None,
            comment=None,
            decided_by=None,
            decided_date=None,
            form=None if form is None else json.dumps(form, ensure_ascii=False),
            form_values=None,
        )
    )
    record_event(
        connection, element_id, "review", actor, now, kind=kind, reason=reason, review=item_id
    )
    return item_id


def after_failure(
    connection: Connection,
    element_id: uuid.UUID,
    queue_name: str,
    kind: str,
    message: str | None,
    now: datetime,
    actor: str | None,
    *,
    claimed_at: datetime | None = None,
    job: uuid.UUID | None = None,
    attempts: int | None = None,
) -> bool:
    """An element just became FAILED (in the caller's transaction): record "failed" and,
    when the queue's setting says so, open a review item. Returns whether it went to
    review."""
    record_event(
        connection,
        element_id,
        "failed",
        actor,
        now,
        kind=kind,
        message=message,
        job=job,
        claimed_at=claimed_at,
        attempts=attempts,
    )
    business, exhausted = review_policy(connection, queue_name)
    if (kind == "business" and business) or (kind == "application" and exhausted):
        open_review(connection, element_id, queue_name, message, kind, now, actor)
        return True
    return False


def fail_element(
    connection: Connection,
    element_id: uuid.UUID,
    message: str | None,
    kind: str,
    now: datetime,
    actor: str | None,
) -> None:
    """A process sets its element FAILED (`set_queue_element_status(..., FAILED)`): no
    retry, whatever the kind (as the original); recorded, and sent to review per the
    queue's setting. A given message replaces the old one.

    Raises:
        NotFound: no such element.
    """
    row = connection.execute(
        select(_QUEUES.c.queue_name, _QUEUES.c.start_date, _QUEUES.c.job_id).where(
            _QUEUES.c.id == element_id
        )
    ).first()
    if row is None:
        raise NotFound(f"No queue element with id {element_id} exists.")
    values = transition_values(QueueEvent.SET, now, QueueStatus.FAILED)
    if message is not None:
        values["message"] = message
    connection.execute(update(_QUEUES).where(_QUEUES.c.id == element_id).values(**values))
    after_failure(
        connection,
        element_id,
        row.queue_name,
        kind,
        message,
        now,
        actor,
        claimed_at=row.start_date,
        job=row.job_id,
    )


@dataclass(frozen=True)
class ReviewEntry:
    """A review item with its element, as the Review tab and the API show it."""

    item: ReviewItem
    element: QueueElement

    @property
    def form_fields(self) -> dict[str, str]:
        """The form a pipeline step asked for: field name -> label (empty: none)."""
        return form_fields(self.item.form)

    @property
    def values(self) -> dict[str, Any]:
        """The form values the decider filled in (empty: none)."""
        loaded = json.loads(self.item.form_values) if self.item.form_values else {}
        return loaded if isinstance(loaded, dict) else {}


def form_fields(text: str | None) -> dict[str, str]:
    """A stored form as field name -> label: a JSON object maps names to labels, a list
    names fields that are their own labels."""
    if not text:
        return {}
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    if isinstance(loaded, dict):
        return {str(key): str(value) for key, value in loaded.items()}
    if isinstance(loaded, list):
        return {str(name): str(name) for name in loaded}
    return {}


def check_form(form: Any) -> dict[str, str] | None:
    """A form for `wait_for_review`: None, a list of field names or a mapping of field
    name to label (all text).

    Raises:
        BadInput: anything else.
    """
    if form is None:
        return None
    if isinstance(form, (list, tuple)):
        form = {name: name for name in form}
    if not isinstance(form, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in form.items()
    ):
        raise BadInput(
            "form must be a list of field names or a dict of field name to label (text)."
        )
    return dict(form)


def _check_values(form_values: Any) -> str | None:
    if form_values is None:
        return None
    if not isinstance(form_values, Mapping):
        raise BadInput(f"form_values must be a dict, not {type(form_values).__name__}.")
    try:
        text = json.dumps(dict(form_values), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise BadInput(f"form_values cannot be saved as JSON: {error}") from None
    v.check_storable("form_values", text)
    return text


@dataclass(frozen=True)
class ReviewFilter:
    """Which review items a list, a count or a bulk decision covers (all optional).

    `assignee` "" means unassigned; `older_than` keeps items waiting longer than that;
    `text` matches a substring of the reason, the element's reference or its data.
    """

    queue: str | None = None
    kind: str | None = None
    assignee: str | None = None
    older_than: timedelta | None = None
    text: str | None = None
    state: str | None = "open"

    def conditions(self, now: datetime) -> list[Any]:
        """The WHERE terms (checking each value first).

        Raises:
            BadInput: a bad value.
        """
        terms: list[Any] = [_QUEUES.c.id == _REVIEWS.c.element_id]
        if self.state is not None:
            if self.state not in STATES:
                raise BadInput(f"state must be one of {', '.join(STATES)}; got {self.state!r}.")
            terms.append(_REVIEWS.c.state == self.state)
            if self.state == "open":
                # An element someone moved on since (the original, the queue dialog) is
                # no longer waiting for anyone.
                terms.append(_QUEUES.c.status == QueueStatus.FAILED)
        if self.queue:
            terms.append(
                _REVIEWS.c.queue_name == v.check_text(ReviewItem, "queue_name", self.queue)
            )
        if self.kind:
            if self.kind not in ITEM_KINDS:
                raise BadInput(f"kind must be one of {', '.join(ITEM_KINDS)}; got {self.kind!r}.")
            terms.append(_REVIEWS.c.kind == self.kind)
        if self.assignee is not None:
            if self.assignee == "":
                terms.append(_REVIEWS.c.assignee.is_(None))
            else:
                terms.append(
                    _REVIEWS.c.assignee == v.check_text(ReviewItem, "assignee", self.assignee)
                )
        if self.older_than is not None:
            if not isinstance(self.older_than, timedelta) or self.older_than < timedelta(0):
                raise BadInput("older_than must be a duration (timedelta) of 0 or more.")
            terms.append(_REVIEWS.c.created_date < now - self.older_than)
        if self.text:
            if not isinstance(self.text, str):
                raise BadInput(f"text must be a string, not {type(self.text).__name__}.")
            v.check_storable("text", self.text)
            terms.append(
                or_(
                    _REVIEWS.c.reason.contains(self.text, autoescape=True),
                    _QUEUES.c.reference.contains(self.text, autoescape=True),
                    _QUEUES.c.data.contains(self.text, autoescape=True),
                )
            )
        return terms


def _entry(row: Any) -> ReviewEntry:
    mapping = row._mapping
    item = ReviewItem(**{column.name: mapping[column] for column in _REVIEWS.c})
    element = QueueElement(**{column.name: mapping[column] for column in _QUEUES.c})
    return ReviewEntry(item, element)


def _check_who(decided_by: Any) -> str:
    who = v.check_text(ReviewItem, "decided_by", _cut("decided_by", decided_by), nonblank=True)
    assert who is not None
    return who


_DECIDED_STATUS = {
    "retry": QueueStatus.NEW,
    "continue": QueueStatus.NEW,
    "done": QueueStatus.DONE,
    "failed": QueueStatus.FAILED,
    "abandon": QueueStatus.ABANDONED,
}


def _decide(
    connection: Connection,
    item_id: uuid.UUID,
    decision: str,
    comment: str | None,
    who: str,
    now: datetime,
    data: str | None,
    values_text: str | None,
) -> None:
    """Decide one item in the caller's transaction (see `ReviewStore.decide_review_item`)."""
    row = connection.execute(select(_REVIEWS).where(_REVIEWS.c.id == item_id)).first()
    if row is None:
        raise NotFound(f"No review item with id {item_id} exists.")
    allowed = ALLOWED_DECISIONS.get(row.kind, ())
    if decision not in allowed:
        raise BadInput(
            f"A {row.kind} review item can be decided {', '.join(allowed)}; not {decision!r}."
        )
    won = connection.execute(
        update(_REVIEWS)
        .where(_REVIEWS.c.id == item_id, _REVIEWS.c.state == "open")
        .values(
            state="decided",
            decision=decision,
            comment=comment,
            decided_by=who,
            decided_date=now,
            form_values=values_text,
        )
    ).rowcount
    if won != 1:
        current = connection.execute(select(_REVIEWS).where(_REVIEWS.c.id == item_id)).first()
        by = f" by {current.decided_by}" if current is not None and current.decided_by else ""
        what = current.decision if current is not None else "closed"
        raise AlreadyDecided(
            f"This review item was already decided{by} ({what}); nothing was changed."
        )
    status = _DECIDED_STATUS[decision]
    label = {"abandon": "Abandoned", "failed": "Failed (final)", "done": "Done by hand"}.get(
        decision, decision.capitalize()
    )
    message = f"{label} after review by {who}" + (f": {comment}" if comment else ".")
    limit = v.column_length(QueueElement, "message")
    values: dict[str, Any] = {
        "status": status,
        "message": message if len(message) <= limit else message[: limit - 1] + "…",
    }
    if status is QueueStatus.NEW:
        values.update(attempts=0, not_before=None, end_date=None, job_id=None)
    elif decision != "failed":
        values["end_date"] = now
    if data is not None:
        values["data"] = data
    changed = connection.execute(
        update(_QUEUES)
        .where(_QUEUES.c.id == row.element_id, _QUEUES.c.status == QueueStatus.FAILED)
        .values(**values)
    ).rowcount
    if changed != 1:
        now_status = connection.execute(
            select(_QUEUES.c.status).where(_QUEUES.c.id == row.element_id)
        ).scalar()
        where = "no longer exists" if now_status is None else f"is {now_status.name} now"
        raise BadInput(
            f"The element of this review item {where}, not FAILED: it is no longer waiting "
            "for a decision. Nothing was changed."
        )
    if decision == "continue":
        _resume_pipeline(connection, row.element_id, decision, comment, who, values_text)
    if data is not None:
        record_event(connection, row.element_id, "edited", who, now, fields=["data"])
    record_event(
        connection,
        row.element_id,
        "decided",
        who,
        now,
        decision=decision,
        comment=comment,
        review=item_id,
        form_values=json.loads(values_text) if values_text else None,
    )


def _resume_pipeline(
    connection: Connection,
    element_id: uuid.UUID,
    decision: str,
    comment: str | None,
    who: str,
    values_text: str | None,
) -> None:
    """A pipeline's question was answered "continue": its state gets `review` (the
    decision, the form values, the comment, who) for the next step to read; the step it
    resumes at was saved when it asked."""
    text = connection.execute(
        select(_RUNS.c.state).where(_RUNS.c.element_id == element_id)
    ).scalar()
    if text is None:
        raise BadInput("This element has no pipeline progress to continue.")
    state = json.loads(text or "{}")
    state["review"] = {
        "decision": decision,
        "values": json.loads(values_text) if values_text else {},
        "comment": comment,
        "decided_by": who,
    }
    connection.execute(
        update(_RUNS)
        .where(_RUNS.c.element_id == element_id)
        .values(state=json.dumps(state, ensure_ascii=False), continuing=False, wait_started=None)
    )


def open_items_by_queue(
    connection: Connection, cutoff: datetime | None = None
) -> dict[str, tuple[int, datetime]]:
    """Per queue, (how many, the oldest) of the open items whose element still waits
    (FAILED), as the Overview counts them; only those that arrived before `cutoff` when
    given. For the alert rule and `/metrics`."""
    conditions = [_REVIEWS.c.state == "open", _QUEUES.c.status == QueueStatus.FAILED]
    if cutoff is not None:
        conditions.append(_REVIEWS.c.created_date < cutoff)
    statement = (
        select(_REVIEWS.c.queue_name, func.count(), func.min(_REVIEWS.c.created_date))
        .select_from(_REVIEWS)
        .join(_QUEUES, _QUEUES.c.id == _REVIEWS.c.element_id)
        .where(*conditions)
        .group_by(_REVIEWS.c.queue_name)
    )
    return {name: (int(count), oldest) for name, count, oldest in connection.execute(statement)}


class ReviewStore(StoreCore):
    """The review inbox: list, assign and decide."""

    def list_review_items(
        self,
        review_filter: ReviewFilter | None = None,
        *,
        offset: int = 0,
        limit: int | None = 100,
        newest_first: bool = False,
    ) -> tuple[ReviewEntry, ...]:
        """Review items with their elements, oldest first (open ones by default).

        Raises:
            ValueError: a bad filter or paging value.
        """
        chosen = review_filter or ReviewFilter()
        v.check_int("offset", offset, minimum=0)
        v.check_limit(limit)
        order = _REVIEWS.c.created_date.desc() if newest_first else _REVIEWS.c.created_date
        statement = (
            select(_REVIEWS, _QUEUES)
            .where(*chosen.conditions(datetime.now()))
            .order_by(order, _REVIEWS.c.id)
            .offset(offset)
        )
        if limit is not None:
            statement = statement.limit(limit)
        with self.engine.connect() as connection:
            return tuple(_entry(row) for row in connection.execute(statement))

    def count_review_items(self, review_filter: ReviewFilter | None = None) -> int:
        """How many review items match (what a bulk decision would cover)."""
        chosen = review_filter or ReviewFilter()
        statement = (
            select(func.count())
            .select_from(_REVIEWS)
            .join(_QUEUES, _QUEUES.c.id == _REVIEWS.c.element_id)
            .where(*chosen.conditions(datetime.now()))
        )
        with self.engine.connect() as connection:
            return int(connection.execute(statement).scalar() or 0)

    def get_review_item(self, item_id: uuid.UUID | str) -> ReviewEntry:
        """One review item with its element.

        Raises:
            ValueError: bad id, or no such item (or its element was deleted).
        """
        key = v.check_uuid("item_id", item_id)
        statement = select(_REVIEWS, _QUEUES).where(
            _REVIEWS.c.id == key, _QUEUES.c.id == _REVIEWS.c.element_id
        )
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        if row is None:
            raise NotFound(f"No review item with id {key} exists.")
        return _entry(row)

    def get_open_review_for_element(self, element_id: uuid.UUID | str) -> ReviewEntry | None:
        """The element's open review item, or None."""
        key = v.check_uuid("element_id", element_id)
        statement = select(_REVIEWS, _QUEUES).where(
            _REVIEWS.c.element_id == key,
            _REVIEWS.c.state == "open",
            _QUEUES.c.id == _REVIEWS.c.element_id,
            _QUEUES.c.status == QueueStatus.FAILED,
        )
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        return None if row is None else _entry(row)

    def review_backlog(self) -> tuple[int, datetime | None]:
        """(open items, when the oldest open one arrived) for the Overview and alerts."""
        statement = (
            select(func.count(), func.min(_REVIEWS.c.created_date))
            .select_from(_REVIEWS)
            .join(_QUEUES, _QUEUES.c.id == _REVIEWS.c.element_id)
            .where(_REVIEWS.c.state == "open", _QUEUES.c.status == QueueStatus.FAILED)
        )
        with self.engine.connect() as connection:
            count, oldest = connection.execute(statement).one()
        return int(count or 0), oldest

    def review_waiting_by_queue(self, cutoff: datetime) -> dict[str, tuple[int, datetime]]:
        """Per queue, (how many, the oldest) of the open items that arrived before
        `cutoff` (the alert rule "items wait for review too long")."""
        with self.engine.connect() as connection:
            return open_items_by_queue(connection, cutoff)

    def assign_review_item(self, item_id: uuid.UUID | str, assignee: str | None) -> None:
        """Assign an open item to a person (None: unassign).

        Raises:
            ValueError: bad id or name, no such item, or it is decided.
        """
        key = v.check_uuid("item_id", item_id)
        name = v.check_text(ReviewItem, "assignee", assignee, required=False)

        def work(session: Session) -> None:
            result = session.execute(
                update(_REVIEWS)
                .where(_REVIEWS.c.id == key, _REVIEWS.c.state == "open")
                .values(assignee=name or None)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                found = session.execute(select(_REVIEWS.c.state).where(_REVIEWS.c.id == key))
                if found.first() is None:
                    raise NotFound(f"No review item with id {key} exists.")
                raise AlreadyDecided("This review item is decided already; it cannot be assigned.")

        self._write(work)

    def decide_review_item(
        self,
        item_id: uuid.UUID | str,
        decision: str,
        comment: str | None = None,
        decided_by: str | None = None,
        *,
        data: str | None = None,
        form_values: Mapping[str, Any] | None = None,
    ) -> ReviewEntry:
        """Decide an open item, in one transaction: retry (element back to NEW, attempts
        reset, `data` replaces its data when given), continue (a pipeline's question:
        NEW, resuming at the next step with `form_values` in its state as
        `state["review"]["values"]`), done, failed (final) or abandon. `comment` is
        required for done, failed and abandon; `decided_by` is who decides.

        Raises:
            AlreadyDecided: someone decided it first (nothing changed).
            ValueError: bad values, a decision its kind does not allow, a missing comment,
                no such item, or its element is no longer FAILED.
        """
        key = v.check_uuid("item_id", item_id)
        decision, comment, who = self._check_decision(decision, comment, decided_by)
        edited = v.check_text(QueueElement, "data", data, required=False)
        if edited is not None and decision != "retry":
            raise BadInput("Edited data goes with a retry decision only.")
        values_text = _check_values(form_values)
        now = datetime.now()
        self._write_core(
            lambda connection: _decide(
                connection, key, decision, comment, who, now, edited, values_text
            )
        )
        return self.get_review_item(key)

    def decide_review_items(
        self,
        review_filter: ReviewFilter,
        decision: str,
        comment: str | None = None,
        decided_by: str | None = None,
    ) -> int:
        """Decide every open item the filter matches (whose kind allows the decision),
        one transaction per item, so an item someone else decides meanwhile is skipped,
        never decided twice. Returns how many this call decided.

        Raises:
            ValueError: bad values or a missing comment.
        """
        decision, comment, who = self._check_decision(decision, comment, decided_by)
        chosen = ReviewFilter(
            review_filter.queue,
            review_filter.kind,
            review_filter.assignee,
            review_filter.older_than,
            review_filter.text,
            "open",
        )
        kinds = [kind for kind, allowed in ALLOWED_DECISIONS.items() if decision in allowed]
        statement = (
            select(_REVIEWS.c.id)
            .where(*chosen.conditions(datetime.now()), _REVIEWS.c.kind.in_(kinds))
            .order_by(_REVIEWS.c.created_date)
            .limit(_BULK_LIMIT)
        )
        with self.engine.connect() as connection:
            ids = list(connection.execute(statement).scalars())
        decided = 0
        for key in ids:

            def one(connection: Connection, key: uuid.UUID = key) -> None:
                _decide(connection, key, decision, comment, who, datetime.now(), None, None)

            try:
                self._write_core(one)
            except (AlreadyDecided, BadInput):
                continue  # decided or moved on meanwhile
            decided += 1
        return decided

    @staticmethod
    def _check_decision(
        decision: Any, comment: Any, decided_by: Any
    ) -> tuple[str, str | None, str]:
        if decision not in DECISIONS:
            raise BadInput(f"decision must be one of {', '.join(DECISIONS)}; got {decision!r}.")
        text = v.check_text(ReviewItem, "comment", comment, required=False)
        text = text.strip() if text else None
        if decision in FINAL_DECISIONS and not text:
            raise BadInput(f"A comment is required to decide {decision!r} (it is final).")
        return str(decision), text, _check_who(decided_by)

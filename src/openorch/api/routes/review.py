"""The review inbox over HTTP (REVIEW scope) and an element's history (READ scope).

A decision is recorded as decided by `api:<token name>`; two deciders at once: one wins,
the other gets 409 Conflict. Every decision is also in the API's audit record.
"""

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from openorch.api.auth import get_store, require
from openorch.api.convert import element_data
from openorch.api.schemas import ERROR_RESPONSES, MAX_PAGE
from openorch.database import ApiScope, ApiToken
from openorch.store import ReviewEntry, ReviewFilter
from openorch.store.errors import NotFound

router = APIRouter(tags=["review"], responses=ERROR_RESPONSES)

Decision = Literal["retry", "done", "failed", "abandon", "continue"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReviewOut(BaseModel):
    """A review item with what the decider needs of its element."""

    id: uuid.UUID
    element_id: uuid.UUID
    queue_name: str
    kind: str
    reason: str | None
    created_date: datetime
    assignee: str | None
    state: str
    decision: str | None
    comment: str | None
    decided_by: str | None
    decided_date: datetime | None
    form: dict[str, str]
    form_values: dict[str, Any]
    reference: str | None
    data: str | None
    element_status: str
    job_id: uuid.UUID | None


class DecisionBody(_Input):
    """Decide one review item."""

    decision: Decision
    comment: str | None = Field(
        None, max_length=1000, description="Required for done, failed and abandon."
    )
    data: Any = Field(
        None, description="retry only: the element's new data (a string, or JSON stored as text)."
    )
    form_values: dict[str, Any] | None = Field(
        None, description="continue only: the values of the form the pipeline step asked for."
    )


class FilterBody(_Input):
    """Which open review items (all optional)."""

    queue: str | None = Field(None, max_length=100)
    kind: Literal["business", "application", "decision"] | None = None
    assignee: str | None = Field(None, max_length=100, description='"" for unassigned.')
    older_than_hours: float | None = Field(None, ge=0)
    text: str | None = Field(None, max_length=200)


class BulkDecisionBody(_Input):
    """Decide every open item a filter matches."""

    decision: Literal["retry", "done", "failed", "abandon"]
    comment: str | None = Field(None, max_length=1000)
    filter: FilterBody


class BulkDecisionOut(BaseModel):
    """How many items the bulk decision decided."""

    decided: int


class HistoryOut(BaseModel):
    """One event of an element's history."""

    at: datetime
    event: str
    actor: str | None
    details: dict[str, Any]
    recorded: bool = Field(
        description="False for events read from the element's own columns (created, "
        "claimed, done): the happy path is not written twice."
    )


def _out(entry: ReviewEntry) -> ReviewOut:
    item, element = entry.item, entry.element
    return ReviewOut(
        id=item.id,
        element_id=item.element_id,
        queue_name=item.queue_name,
        kind=item.kind,
        reason=item.reason,
        created_date=item.created_date,
        assignee=item.assignee,
        state=item.state,
        decision=item.decision,
        comment=item.comment,
        decided_by=item.decided_by,
        decided_date=item.decided_date,
        form=entry.form_fields,
        form_values=entry.values,
        reference=element.reference,
        data=element.data,
        element_status=element.status.name,
        job_id=element.job_id,
    )


def _filter(
    queue: str | None,
    kind: str | None,
    assignee: str | None,
    older_than_hours: float | None,
    text: str | None,
    state: str | None = "open",
) -> ReviewFilter:
    older = None if older_than_hours is None else timedelta(hours=older_than_hours)
    return ReviewFilter(queue, kind, assignee, older, text, state)


def _who(token: ApiToken) -> str:
    return f"api:{token.name}"[:100]


@router.get("/review", response_model=list[ReviewOut])
def list_review(
    request: Request,
    _token: Annotated[ApiToken, Depends(require(ApiScope.REVIEW))],
    queue: Annotated[str | None, Query(max_length=100)] = None,
    kind: Annotated[Literal["business", "application", "decision"] | None, Query()] = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    older_than_hours: Annotated[float | None, Query(ge=0)] = None,
    text: Annotated[str | None, Query(max_length=200)] = None,
    state: Annotated[Literal["open", "decided"], Query()] = "open",
    offset: Annotated[int, Query(ge=0, lt=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[ReviewOut]:
    """Review items, oldest first (open ones unless `state=decided`)."""
    chosen = _filter(queue, kind, assignee, older_than_hours, text, state)
    entries = get_store(request).list_review_items(chosen, offset=offset, limit=limit)
    return [_out(entry) for entry in entries]


@router.get("/review/{item_id}", response_model=ReviewOut)
def read_review(
    item_id: uuid.UUID,
    request: Request,
    _token: Annotated[ApiToken, Depends(require(ApiScope.REVIEW))],
) -> ReviewOut:
    """One review item."""
    return _out(get_store(request).get_review_item(item_id))


@router.post("/review/{item_id}/decision", response_model=ReviewOut)
def decide(
    item_id: uuid.UUID,
    body: DecisionBody,
    request: Request,
    token: Annotated[ApiToken, Depends(require(ApiScope.REVIEW))],
) -> ReviewOut:
    """Decide one open item: retry, done, failed, abandon, or continue (a pipeline's
    question). 409 when someone else decided it first."""
    store = get_store(request)
    entry = store.decide_review_item(
        item_id,
        body.decision,
        body.comment,
        _who(token),
        data=element_data(body.data),
        form_values=body.form_values,
    )
    store.record_api_write(
        token.name,
        "decide review item",
        f"item {item_id}, element {entry.item.element_id}: {body.decision}",
    )
    return _out(entry)


@router.post("/review/decisions", response_model=BulkDecisionOut)
def decide_many(
    body: BulkDecisionBody,
    request: Request,
    token: Annotated[ApiToken, Depends(require(ApiScope.REVIEW))],
) -> BulkDecisionOut:
    """Decide every open item the filter matches (items someone else decides meanwhile
    are skipped, never decided twice)."""
    store = get_store(request)
    chosen = _filter(
        body.filter.queue,
        body.filter.kind,
        body.filter.assignee,
        body.filter.older_than_hours,
        body.filter.text,
    )
    count = store.decide_review_items(chosen, body.decision, body.comment, _who(token))
    store.record_api_write(
        token.name, "decide review items", f"{count} items: {body.decision} ({body.filter!r})"
    )
    return BulkDecisionOut(decided=count)


@router.get("/queues/{queue_name}/elements/{element_id}/history", response_model=list[HistoryOut])
def element_history(
    queue_name: str,
    element_id: uuid.UUID,
    request: Request,
    _token: Annotated[ApiToken, Depends(require(ApiScope.READ))],
) -> list[HistoryOut]:
    """An element's history, oldest first (see docs/review.md, "History")."""
    store = get_store(request)
    element = store.get_queue_element(element_id)
    if element.queue_name != queue_name:
        raise NotFound(f"No queue element with id {element_id} exists in queue {queue_name!r}.")
    return [
        HistoryOut(
            at=entry.at,
            event=entry.event,
            actor=entry.actor,
            details=entry.details,
            recorded=entry.recorded,
        )
        for entry in store.get_element_history(element_id)
    ]

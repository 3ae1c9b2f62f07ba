"""Adding queue elements and reading them and their queue's counts."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status

from openorch.api.auth import get_store, require
from openorch.api.convert import element_data, element_out
from openorch.api.schemas import (
    ERROR_RESPONSES,
    MAX_PAGE,
    BulkBody,
    BulkOut,
    ElementBody,
    ElementOut,
    QueueCounts,
)
from openorch.database import ApiScope, ApiToken, QueueStatus
from openorch.store import Store
from openorch.store.errors import NotFound

router = APIRouter(tags=["queues"], responses=ERROR_RESPONSES)

QueueName = Annotated[str, Path(min_length=1, max_length=100)]


def _creator(token: ApiToken) -> str:
    """Who an element added through the API was created by: always the token's name. A
    caller's own `created_by` is not stored there (a QUEUE_WRITE token could otherwise
    sign its elements "admin"); it is kept apart, in the audit record (`_claimed`)."""
    return f"api:{token.name}"[:100]


def _claimed(given: str | None, creator: str) -> str:
    """The audit detail's note of a `created_by` the caller sent, when it differs."""
    return "" if given is None or given == creator else f", caller's created_by {given!r}"


def _counts(store: Store, queue_name: str) -> QueueCounts:
    counts = store.get_queue_count().get(queue_name, {})
    by_name = {member.name: int(counts.get(member, 0)) for member in QueueStatus}
    return QueueCounts(queue_name=queue_name, counts=by_name, total=sum(by_name.values()))


@router.post(
    "/queues/{queue_name}/elements",
    status_code=status.HTTP_201_CREATED,
    response_model=ElementOut,
)
def add_element(
    queue_name: QueueName,
    body: ElementBody,
    request: Request,
    token: Annotated[ApiToken, Depends(require(ApiScope.QUEUE_WRITE))],
) -> ElementOut:
    """Add one NEW element to a queue."""
    store = get_store(request)
    creator = _creator(token)
    element = store.create_queue_element(
        queue_name, body.reference, element_data(body.data), creator
    )
    store.record_api_write(
        token.name,
        "add queue element",
        f"queue '{queue_name}', element {element.id}, reference {element.reference!r}"
        + _claimed(body.created_by, creator),
        object_id=element.id,
        object_name=f"{queue_name}: {element.reference}" if element.reference else queue_name,
        after={"queue_name": queue_name, "reference": element.reference, "created_by": creator},
    )
    return element_out(element)


@router.post(
    "/queues/{queue_name}/elements/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=BulkOut,
)
def add_elements(
    queue_name: QueueName,
    body: BulkBody,
    request: Request,
    token: Annotated[ApiToken, Depends(require(ApiScope.QUEUE_WRITE))],
) -> BulkOut:
    """Add up to 1000 NEW elements to a queue, all or nothing."""
    store = get_store(request)
    references = [item.reference for item in body.elements]
    data = [element_data(item.data) for item in body.elements]
    creator = _creator(token)
    store.bulk_create_queue_elements(queue_name, references, data, creator)
    store.record_api_write(
        token.name,
        "add queue elements",
        f"queue '{queue_name}', {len(references)} elements" + _claimed(body.created_by, creator),
        object_id=queue_name,
        object_name=queue_name,
        after={"created": len(references), "created_by": creator},
    )
    return BulkOut(queue_name=queue_name, created=len(references))


@router.get("/queues", response_model=list[QueueCounts])
def list_queues(
    request: Request, _token: Annotated[ApiToken, Depends(require(ApiScope.READ))]
) -> list[QueueCounts]:
    """Every queue with its counts per status."""
    store = get_store(request)
    return [_counts(store, name) for name in sorted(store.get_queue_count())]


@router.get("/queues/{queue_name}", response_model=QueueCounts)
def read_queue(
    queue_name: QueueName,
    request: Request,
    _token: Annotated[ApiToken, Depends(require(ApiScope.READ))],
) -> QueueCounts:
    """A queue's counts per status (all zero for a queue with no elements)."""
    return _counts(get_store(request), queue_name)


@router.get("/queues/{queue_name}/elements", response_model=list[ElementOut])
def list_elements(
    queue_name: QueueName,
    request: Request,
    _token: Annotated[ApiToken, Depends(require(ApiScope.READ))],
    reference: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[str | None, Query(description="NEW, IN_PROGRESS, DONE…")] = None,
    offset: Annotated[int, Query(ge=0, lt=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[ElementOut]:
    """A queue's elements, oldest first; `reference` finds elements by reference."""
    elements = get_store(request).get_queue_elements(
        queue_name, reference=reference, status=status, offset=offset, limit=limit
    )
    return [element_out(element) for element in elements]


@router.get("/queues/{queue_name}/elements/{element_id}", response_model=ElementOut)
def read_element(
    queue_name: QueueName,
    element_id: uuid.UUID,
    request: Request,
    _token: Annotated[ApiToken, Depends(require(ApiScope.READ))],
) -> ElementOut:
    """One element by id."""
    element = get_store(request).get_queue_element(element_id)
    if element.queue_name != queue_name:
        raise NotFound(f"No queue element with id {element_id} exists in queue {queue_name!r}.")
    return element_out(element)

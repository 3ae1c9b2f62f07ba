"""The review inbox over the real FastAPI app (in-process ASGI), SQLite and PostgreSQL:
the REVIEW scope, listing with filters, deciding (409 for the second decider), a bulk
decision and an element's history."""

import httpx

from openorch.api.app import create_app
from openorch.database import QueueStatus
from openorch.store import Store


def _failed(store: Store, queue: str, reference: str) -> str:
    element = store.create_queue_element(queue, reference, "{}")
    assert store.get_next_queue_element(queue) is not None
    store.set_queue_element_status(element.id, QueueStatus.FAILED, "Unknown", kind="business")
    return str(element.id)


async def test_review_needs_the_review_scope_and_decides_once(store: Store) -> None:
    _read, read_secret = store.create_api_token("reader", ["READ"])
    _review, secret = store.create_api_token("clerk", ["REVIEW"])
    element = _failed(store, "invoices", "r1")
    _failed(store, "other", "r2")
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(store)), base_url="http://127.0.0.1"
    )
    as_reader = {"Authorization": f"Bearer {read_secret}"}
    as_clerk = {"Authorization": f"Bearer {secret}"}
    refused = await client.get("/api/v1/review", headers=as_reader)
    assert refused.status_code == 403 and "REVIEW" in refused.json()["detail"]

    listed = await client.get("/api/v1/review", params={"queue": "invoices"}, headers=as_clerk)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()
    assert (item["element_id"], item["kind"], item["element_status"]) == (
        element,
        "business",
        "FAILED",
    )
    missing_comment = await client.post(
        f"/api/v1/review/{item['id']}/decision", json={"decision": "done"}, headers=as_clerk
    )
    assert missing_comment.status_code == 422 and "comment" in missing_comment.json()["detail"]
    decided = await client.post(
        f"/api/v1/review/{item['id']}/decision",
        json={"decision": "retry", "data": {"customer": 7}},
        headers=as_clerk,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["decided_by"] == "api:clerk"
    again = await client.post(
        f"/api/v1/review/{item['id']}/decision",
        json={"decision": "abandon", "comment": "late"},
        headers=as_clerk,
    )
    assert again.status_code == 409 and "already decided by api:clerk" in again.json()["detail"]
    element_now = store.get_queue_element(element)
    assert (element_now.status, element_now.data) == (QueueStatus.NEW, '{"customer":7}')

    bulk = await client.post(
        "/api/v1/review/decisions",
        json={"decision": "abandon", "comment": "closed", "filter": {"queue": "other"}},
        headers=as_clerk,
    )
    assert bulk.status_code == 200 and bulk.json() == {"decided": 1}
    assert (await client.get("/api/v1/review", headers=as_clerk)).json() == []

    history = await client.get(
        f"/api/v1/queues/invoices/elements/{element}/history", headers=as_reader
    )
    assert history.status_code == 200, history.text
    events = [(entry["event"], entry["actor"]) for entry in history.json()]
    assert [event for event, _actor in events] == [
        "created",
        "claimed",
        "failed",
        "review",
        "edited",
        "decided",
    ]
    assert events[-1] == ("decided", "api:clerk")
    wrong_queue = await client.get(
        f"/api/v1/queues/other/elements/{element}/history", headers=as_reader
    )
    assert wrong_queue.status_code == 404
    audit = [entry.action for entry in store.get_api_audit()[0]]
    assert "decide review item" in audit and "decide review items" in audit

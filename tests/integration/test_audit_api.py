"""`GET /api/v1/audit` over the real FastAPI app (in-process ASGI) on SQLite and
PostgreSQL: only a token with the AUDIT scope reads it (READ is refused with 403), API
writes appear in it as "api:<token>", and its filters and paging are the store's."""

from datetime import UTC, datetime, timedelta

import httpx
from openapi_spec_validator import validate

from openorch.api.app import create_app
from openorch.identity import Identity
from openorch.orchestrator.audited_store import audited
from openorch.store import Store


def _client(store: Store) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(store)), base_url="http://127.0.0.1"
    )


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_only_the_audit_scope_reads_the_trail(store: Store) -> None:
    _token, reader = store.create_api_token("reader", ["READ"])
    _token, auditor = store.create_api_token("auditor", ["AUDIT"])
    _token, writer = store.create_api_token("crm", ["QUEUE_WRITE"])
    anna = Identity("anna", "oidc", "operator")
    audited(store, lambda: anna).create_credential("mail", "robot", "pw-not-in-the-api")
    async with _client(store) as client:
        refused = await client.get("/api/v1/audit", headers=_bearer(reader))
        assert refused.status_code == 403 and "AUDIT" in refused.json()["detail"]
        assert (await client.get("/api/v1/audit")).status_code == 401
        added = await client.post(
            "/api/v1/queues/orders/elements", json={"reference": "A-1"}, headers=_bearer(writer)
        )
        assert added.status_code == 201, added.text

        answer = await client.get("/api/v1/audit", headers=_bearer(auditor))
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert page["total"] == 2 and page["offset"] == 0
        newest, oldest = page["items"]
        assert (newest["actor"], newest["actor_method"], newest["source"]) == (
            "api:crm",
            "api-token",
            "api",
        )
        assert newest["action"] == "queue_element.create"
        assert newest["object_id"] == added.json()["id"]
        assert (oldest["actor"], oldest["actor_role"], oldest["action"]) == (
            "anna (oidc)",
            "operator",
            "credential.create",
        )
        assert oldest["after"]["password"] == "***" and oldest["before"] is None
        assert "pw-not-in-the-api" not in answer.text

        by_actor = await client.get(
            "/api/v1/audit", params={"actor": "anna (oidc)"}, headers=_bearer(auditor)
        )
        assert [item["action"] for item in by_actor.json()["items"]] == ["credential.create"]
        by_source = await client.get(
            "/api/v1/audit", params={"source": "api", "q": "orders"}, headers=_bearer(auditor)
        )
        assert by_source.json()["total"] == 1
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        none = await client.get("/api/v1/audit", params={"since": later}, headers=_bearer(auditor))
        assert none.json() == {"items": [], "total": 0, "offset": 0, "limit": 50}
        paged = await client.get(
            "/api/v1/audit", params={"limit": 1, "offset": 1}, headers=_bearer(auditor)
        )
        assert [item["action"] for item in paged.json()["items"]] == ["credential.create"]
        bad = await client.get(
            "/api/v1/audit", params={"source": "robot"}, headers=_bearer(auditor)
        )
        assert bad.status_code == 422

        spec = (await client.get("/api/openapi.json")).json()
    validate(spec)
    assert "/api/v1/audit" in spec["paths"]
    assert "password" not in str(spec).lower()

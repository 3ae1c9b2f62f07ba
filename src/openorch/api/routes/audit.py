"""Reading the audit trail: who did what, in the Orchestrator and through this API.

Its own scope, AUDIT: the trail names people and shows objects before and after, more
than a READ token (given to dashboards and robots) should see.
"""

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from openorch.api.auth import get_store, require
from openorch.api.schemas import ERROR_RESPONSES, MAX_PAGE, AuditOut, AuditPage
from openorch.database import ApiScope, ApiToken, AuditEntry

router = APIRouter(responses=ERROR_RESPONSES)

_Text = Annotated[str | None, Query(max_length=200)]


def _snapshot(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


def audit_out(entry: AuditEntry) -> AuditOut:
    """One row as the API shows it."""
    return AuditOut(
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        actor_method=entry.actor_method,
        actor_role=entry.actor_role,
        action=entry.action,
        object_kind=entry.object_kind,
        object_id=entry.object_id,
        object_name=entry.object_name,
        summary=entry.summary,
        before=_snapshot(entry.before),
        after=_snapshot(entry.after),
        source="api" if entry.source == "api" else "orchestrator",
    )


@router.get("/audit", response_model=AuditPage, tags=["audit"])
def list_audit(
    request: Request,
    _token: Annotated[ApiToken, Depends(require(ApiScope.AUDIT))],
    actor: _Text = None,
    action: _Text = None,
    object_kind: _Text = None,
    object: Annotated[
        str | None, Query(max_length=200, description="Text in the object's id or name.")
    ] = None,
    source: Literal["orchestrator", "api"] | None = None,
    since: Annotated[datetime | None, Query(description="From this time (UTC), inclusive.")] = None,
    until: Annotated[
        datetime | None, Query(description="Up to this time (UTC), inclusive.")
    ] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Text in the actor, action, object or summary."),
    ] = None,
    offset: Annotated[int, Query(ge=0, lt=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> AuditPage:
    """Who did what, newest first, filtered and paged (needs the AUDIT scope)."""
    entries, total = get_store(request).get_audit(
        offset,
        limit,
        actor=actor,
        action=action,
        object_kind=object_kind,
        object_text=object,
        source=source,
        from_time=_naive_utc(since),
        to_time=_naive_utc(until),
        text=q,
    )
    return AuditPage(
        items=[audit_out(entry) for entry in entries], total=total, offset=offset, limit=limit
    )


def _naive_utc(moment: datetime | None) -> datetime | None:
    """A time with a zone as naive UTC (the trail's clock); a naive one is taken as UTC."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)

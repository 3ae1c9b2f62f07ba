"""Schedulers and their liveness; the health check."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from openorch.api.auth import get_store, optional_token, require
from openorch.api.convert import scheduler_out
from openorch.api.schemas import (
    ERROR_RESPONSES,
    DatabaseHealth,
    HealthOut,
    HealthStatusOut,
    SchedulerOut,
)
from openorch.database import ApiScope, ApiToken
from openorch.store import HEAD_REVISION, describe_connection_error

router = APIRouter()


@router.get(
    "/schedulers", response_model=list[SchedulerOut], responses=ERROR_RESPONSES, tags=["system"]
)
def list_schedulers(
    request: Request, _token: Annotated[ApiToken, Depends(require(ApiScope.READ))]
) -> list[SchedulerOut]:
    """Every Scheduler that ever reported, and whether it is alive by the one liveness
    rule (database clock, each Scheduler's own timeout, a stopped one is not alive)."""
    health = get_store(request).get_scheduler_health(request.app.state.heartbeat_timeout)
    return [scheduler_out(item) for item in health]


@router.get(
    "/health",
    response_model=HealthOut | HealthStatusOut,
    responses={
        503: {"model": HealthOut | HealthStatusOut, "description": "The database is not reachable"}
    },
    tags=["system"],
)
def health(
    request: Request, token: Annotated[ApiToken | None, Depends(optional_token)]
) -> HealthOut | HealthStatusOut | JSONResponse:
    """Is the database reachable, at which revision, how many Schedulers are alive.
    200 when all is well or degraded, 503 when unavailable.

    No token needed for the status alone (`ok`, `degraded`, `unavailable`); the details
    (revision, live Schedulers, the database's error) need a token with READ: they say
    where the database is and how it fails."""
    store = get_store(request)
    detailed = token is not None and ApiScope.READ in token.scope_set
    try:
        revision = store.current_revision()
        schedulers = store.get_scheduler_health(request.app.state.heartbeat_timeout)
    except Exception as error:  # any failure here means "not reachable"
        body: HealthOut | HealthStatusOut = HealthStatusOut(status="unavailable")
        if detailed:
            body = HealthOut(
                status="unavailable",
                database=DatabaseHealth(
                    reachable=False,
                    revision=None,
                    expected_revision=HEAD_REVISION,
                    error=describe_connection_error(error),
                ),
                live_schedulers=None,
            )
        return JSONResponse(body.model_dump(mode="json"), status_code=503)
    live = sum(1 for item in schedulers if item.alive)
    state: Literal["ok", "degraded"] = "ok" if revision == HEAD_REVISION and live else "degraded"
    if not detailed:
        return HealthStatusOut(status=state)
    return HealthOut(
        status=state,
        database=DatabaseHealth(reachable=True, revision=revision, expected_revision=HEAD_REVISION),
        live_schedulers=live,
    )

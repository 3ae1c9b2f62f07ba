"""Schedulers and their liveness; the health check."""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from openorch.api.auth import get_store, require
from openorch.api.convert import scheduler_out
from openorch.api.schemas import ERROR_RESPONSES, DatabaseHealth, HealthOut, SchedulerOut
from openorch.database import ApiScope, ApiToken
from openorch.store import HEAD_REVISION, describe_connection_error

router = APIRouter()


@router.get(
    "/schedulers", response_model=list[SchedulerOut], responses=ERROR_RESPONSES, tags=["system"]
)
def list_schedulers(
    request: Request, _token: Annotated[ApiToken, Depends(require(ApiScope.READ))]
) -> list[SchedulerOut]:
    """Every Scheduler that ever reported, and whether its heartbeat is recent."""
    timeout = timedelta(seconds=request.app.state.heartbeat_timeout)
    now = datetime.now()
    return [scheduler_out(item, timeout, now) for item in get_store(request).get_schedulers()]


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database is not reachable"}},
    tags=["system"],
)
def health(request: Request) -> HealthOut | JSONResponse:
    """No token needed: is the database reachable, at which revision, how many
    Schedulers are alive. 200 when all is well or degraded, 503 when unavailable."""
    store = get_store(request)
    try:
        revision = store.current_revision()
        schedulers = store.get_schedulers()
    except Exception as error:  # any failure here means "not reachable"
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
    cutoff = datetime.now() - timedelta(seconds=request.app.state.heartbeat_timeout)
    live = sum(1 for item in schedulers if item.last_update >= cutoff)
    return HealthOut(
        status="ok" if revision == HEAD_REVISION and live else "degraded",
        database=DatabaseHealth(reachable=True, revision=revision, expected_revision=HEAD_REVISION),
        live_schedulers=live,
    )

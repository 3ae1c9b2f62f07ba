"""Starting runs and following them; reading jobs."""

import uuid
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from openorch.api.auth import get_store, require
from openorch.api.convert import job_out, run_out, trigger_out
from openorch.api.schemas import (
    ERROR_RESPONSES,
    MAX_PAGE,
    JobOut,
    JobPage,
    NextRunOut,
    NextRunsOut,
    RunBody,
    RunOut,
    TriggerOut,
)
from openorch.database import (
    ApiScope,
    ApiToken,
    QueueTrigger,
    ScheduledTrigger,
    SingleTrigger,
    Trigger,
)
from openorch.store import Store
from openorch.store.errors import BadInput, NotFound

router = APIRouter(responses=ERROR_RESPONSES)

#: A trigger named in a path: its id or its exact name.
TriggerRef = Annotated[str, Path(min_length=1, max_length=100, description="id or exact name")]


def find_trigger(store: Store, reference: str) -> Trigger:
    """A trigger by id, or by its exact name when that names exactly one.

    Raises:
        ValueError: none or several match.
    """
    try:
        key = uuid.UUID(reference)
    except ValueError:
        key = None
    if key is not None:
        return store.get_trigger(key)
    matches = [t for t in store.get_all_triggers() if t.trigger_name == reference]
    if not matches:
        raise NotFound(f"No trigger with id or name {reference!r} exists.")
    if len(matches) > 1:
        raise BadInput(f"{len(matches)} triggers are named {reference!r}: use the trigger's id.")
    return matches[0]


@router.get("/triggers", response_model=list[TriggerOut], tags=["triggers"])
def list_triggers(
    request: Request, _token: Annotated[ApiToken, Depends(require(ApiScope.READ))]
) -> list[TriggerOut]:
    """Every trigger, by name (without process paths and arguments)."""
    return [trigger_out(trigger) for trigger in get_store(request).get_all_triggers()]


@router.get("/triggers/{trigger}", response_model=TriggerOut, tags=["triggers"])
def read_trigger(
    trigger: TriggerRef,
    request: Request,
    _token: Annotated[ApiToken, Depends(require(ApiScope.READ))],
) -> TriggerOut:
    """One trigger, by id or exact name."""
    return trigger_out(find_trigger(get_store(request), trigger))


@router.get("/triggers/{trigger}/next-runs", response_model=NextRunsOut, tags=["triggers"])
def read_next_runs(
    trigger: TriggerRef,
    request: Request,
    _token: Annotated[ApiToken, Depends(require(ApiScope.READ))],
    count: Annotated[int, Query(ge=1, le=100)] = 10,
) -> NextRunsOut:
    """The trigger's next `count` runs, in its time zone and the server's: what its
    Schedulers will do (zone, DST, calendar). A queue trigger has none; a single trigger
    one."""
    store = get_store(request)
    found = find_trigger(store, trigger)
    times = store.get_trigger_next_runs(found.id, count)
    zone = getattr(found, "time_zone", None) if isinstance(found, ScheduledTrigger) else None
    note = None
    if len(times) < count:
        if isinstance(found, QueueTrigger):
            note = "A queue trigger runs when its queue fills, not at set times."
        elif isinstance(found, SingleTrigger):
            note = "A single trigger runs once."
        else:
            note = "The calendar leaves no further run within a year of the cron's next time."
    return NextRunsOut(
        trigger_id=found.id,
        time_zone=zone,
        calendar_id=getattr(found, "calendar_id", None),
        calendar_rule=getattr(found, "calendar_rule", None)
        if isinstance(found, ScheduledTrigger)
        else None,
        runs=[NextRunOut(time=aware_in(moment, zone), server_time=moment) for moment in times],
        note=note,
    )


def aware_in(moment: datetime, zone: str | None) -> datetime:
    """A naive server-local time as an aware time in `zone` (None: the server's zone)."""
    local = moment.astimezone()
    return local if zone is None else local.astimezone(ZoneInfo(zone))


@router.post(
    "/triggers/{trigger}/runs",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunOut,
    tags=["runs"],
)
def run_trigger(
    trigger: TriggerRef,
    request: Request,
    response: Response,
    token: Annotated[ApiToken, Depends(require(ApiScope.RUN))],
    body: RunBody | None = None,
) -> RunOut:
    """Run a trigger now (by id or exact name), optionally with other process arguments.

    Answers at once with the run to follow. A Scheduler that may run the trigger
    (whitelist, blocking) starts it exactly once, as soon as the trigger is IDLE; a
    trigger that is paused, failed or done must be enabled in the Orchestrator first.
    """
    store = get_store(request)
    body = body or RunBody(process_args=None, correlation_id=None)
    found = find_trigger(store, trigger)
    run = store.request_run(found.id, token.name, body.process_args, body.correlation_id)
    prefix = request.app.state.prefix
    response.headers["Location"] = f"{prefix}/runs/{run.id}"
    return run_out(run, None, prefix)


@router.delete("/runs/{run_id}", response_model=RunOut, tags=["runs"])
def cancel_run(
    run_id: uuid.UUID,
    request: Request,
    token: Annotated[ApiToken, Depends(require(ApiScope.RUN))],
) -> RunOut:
    """Cancel a run that no Scheduler has started yet (422 once it has started)."""
    run = get_store(request).cancel_run_request(run_id, token.name)
    return run_out(run, None, request.app.state.prefix)


@router.get("/runs/{run_id}", response_model=RunOut, tags=["runs"])
def read_run(
    run_id: uuid.UUID,
    request: Request,
    _token: Annotated[ApiToken, Depends(require(ApiScope.READ))],
) -> RunOut:
    """Follow a run: PENDING, then its job's status, outcome and times."""
    store = get_store(request)
    run = store.get_run_request(run_id)
    job = store.get_job(run.job_id) if run.job_id is not None else None
    return run_out(run, job, request.app.state.prefix)


@router.get("/runs", response_model=list[RunOut], tags=["runs"])
def list_runs(
    request: Request,
    _token: Annotated[ApiToken, Depends(require(ApiScope.READ))],
    correlation_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> list[RunOut]:
    """Runs requested over the API, newest first; `correlation_id` finds yours."""
    store = get_store(request)
    prefix = request.app.state.prefix
    result = []
    for run in store.get_run_requests(correlation_id, limit):
        job = store.get_job(run.job_id) if run.job_id is not None else None
        result.append(run_out(run, job, prefix))
    return result


@router.get("/jobs", response_model=JobPage, tags=["jobs"])
def list_jobs(
    request: Request,
    _token: Annotated[ApiToken, Depends(require(ApiScope.READ))],
    status: Annotated[str | None, Query(description="RUNNING, DONE, FAILED or KILLED")] = None,
    process_name: Annotated[str | None, Query(max_length=100)] = None,
    outcome: Annotated[
        str | None, Query(description="COMPLETED, FAILED, or NONE (nothing reported)")
    ] = None,
    correlation_id: Annotated[str | None, Query(max_length=100)] = None,
    offset: Annotated[int, Query(ge=0, lt=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> JobPage:
    """Jobs, newest first, filtered and paged."""
    jobs, total = get_store(request).get_jobs(
        status=status,
        process_name=process_name,
        offset=offset,
        limit=limit,
        include_count=True,
        outcome=outcome,
        correlation_id=correlation_id,
    )
    return JobPage(items=[job_out(job) for job in jobs], total=total, offset=offset, limit=limit)


@router.get("/jobs/{job_id}", response_model=JobOut, tags=["jobs"])
def read_job(
    job_id: uuid.UUID,
    request: Request,
    _token: Annotated[ApiToken, Depends(require(ApiScope.READ))],
    log_limit: Annotated[int, Query(ge=0, le=1000)] = 200,
) -> JobOut:
    """One job: status, outcome message and data, times, and its logs (oldest first)."""
    store = get_store(request)
    job = store.get_job(job_id)
    logs = store.get_logs(0, log_limit, job_id=job.id, order_desc=False)
    return job_out(job, logs)

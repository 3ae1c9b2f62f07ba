"""From the data layer's objects to the API's response bodies."""

import json
from typing import Any

from openorch.api.schemas import ElementOut, JobOut, LogOut, RunOut, SchedulerOut, TriggerOut
from openorch.database import (
    Job,
    Log,
    QueueElement,
    QueueTrigger,
    RunRequest,
    ScheduledTrigger,
    SingleTrigger,
    Trigger,
)
from openorch.store.runs.outcomes import decode_outcome_data
from openorch.store.runs.schedulers import SchedulerHealth


def job_out(job: Job, logs: tuple[Log, ...] | None = None) -> JobOut:
    """A job with its outcome (data decoded) and, when given, its logs."""
    end = job.end_time
    duration = None if end is None else max(0.0, (end - job.start_time).total_seconds())
    return JobOut(
        id=job.id,
        process_name=job.process_name,
        scheduler_name=job.scheduler_name,
        status=job.status.name,
        start_time=job.start_time,
        end_time=end,
        duration_seconds=duration,
        trigger_id=job.trigger_id,
        correlation_id=job.correlation_id,
        outcome=job.outcome.name if job.outcome is not None else None,  # type: ignore[arg-type]
        outcome_message=job.outcome_message,
        outcome_data=decode_outcome_data(job.outcome_data),
        outcome_time=job.outcome_time,
        logs=None
        if logs is None
        else [
            LogOut(time=log.log_time, level=log.log_level.name, message=log.log_message)
            for log in logs
        ],
    )


def run_out(request: RunRequest, job: Job | None, prefix: str) -> RunOut:
    """A requested run; `state` is PENDING until it has a job, then the job's status."""
    state = request.status.name if job is None else job.status.name
    links = {"self": f"{prefix}/runs/{request.id}"}
    if request.job_id is not None:
        links["job"] = f"{prefix}/jobs/{request.job_id}"
    return RunOut(
        id=request.id,
        trigger_id=request.trigger_id,
        correlation_id=request.correlation_id,
        state=state,
        requested_by=request.requested_by,
        requested_at=request.requested_at,
        arguments_overridden=request.process_args is not None,
        started_at=request.started_at,
        scheduler_name=request.scheduler_name,
        job=None if job is None else job_out(job),
        links=links,
    )


def trigger_out(trigger: Trigger) -> TriggerOut:
    """A trigger without its path and arguments."""
    kind = (
        "SINGLE"
        if isinstance(trigger, SingleTrigger)
        else "SCHEDULED"
        if isinstance(trigger, ScheduledTrigger)
        else "QUEUE"
    )
    return TriggerOut(
        id=trigger.id,
        name=trigger.trigger_name,
        type=kind,  # type: ignore[arg-type]
        process_name=trigger.process_name,
        status=trigger.process_status.name,
        last_run=trigger.last_run,
        next_run=getattr(trigger, "next_run", None),
        cron_expr=getattr(trigger, "cron_expr", None),
        queue_name=trigger.queue_name if isinstance(trigger, QueueTrigger) else None,
        min_batch_size=trigger.min_batch_size if isinstance(trigger, QueueTrigger) else None,
        is_blocking=bool(trigger.is_blocking),
        priority=trigger.priority or 0,
        scheduler_whitelist=list(trigger.whitelist),
        has_process_args=bool(trigger.process_args),
    )


def element_out(element: QueueElement) -> ElementOut:
    """A queue element."""
    return ElementOut(
        id=element.id,
        queue_name=element.queue_name,
        status=element.status.name,
        reference=element.reference,
        data=element.data,
        message=element.message,
        created_by=element.created_by,
        created_date=element.created_date,
        start_date=element.start_date,
        end_date=element.end_date,
    )


def element_data(data: Any) -> str | None:
    """A queue element's data as stored: a string as is, other JSON as JSON text."""
    if data is None or isinstance(data, str):
        return data
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def scheduler_out(health: SchedulerHealth) -> SchedulerOut:
    """A Scheduler, alive by the data layer's one rule (`store.schedulers.is_alive`)."""
    scheduler = health.scheduler
    return SchedulerOut(
        name=scheduler.machine_name,
        last_update=scheduler.last_update,
        alive=health.alive,
        latest_trigger=scheduler.latest_trigger,
        latest_trigger_time=scheduler.latest_trigger_time,
    )

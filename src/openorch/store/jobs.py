"""Job operations, and reaping the jobs of Schedulers that died."""

import uuid
from datetime import datetime, timedelta
from typing import Literal, overload

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from openorch.database import (
    Job,
    JobOutcome,
    JobStatus,
    Log,
    LogLevel,
    Scheduler,
    Trigger,
    TriggerStatus,
)
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store import validation as v
from openorch.store.core import StoreCore

_JOBS = table_of(Job)
_TRIGGERS = table_of(Trigger)

_JOB_ORDER_COLUMNS = {
    "start_time": Job.start_time,
    "end_time": Job.end_time,
    "process_name": Job.process_name,
    "scheduler_name": Job.scheduler_name,
    "status": Job.status,
}


class JobStore(StoreCore):
    """Starting, ending and listing process runs."""

    def start_job(
        self,
        process_name: str,
        scheduler_name: str,
        trigger_id: uuid.UUID | str | None = None,
    ) -> Job:
        """Record a process run that starts now (status RUNNING).

        Raises:
            ValueError: bad names or trigger id.
        """
        job = Job(
            id=new_id(),
            process_name=v.check_text(Job, "process_name", process_name),
            scheduler_name=v.check_text(Job, "scheduler_name", scheduler_name),
            start_time=datetime.now(),
            status=JobStatus.RUNNING,
            trigger_id=v.check_optional_uuid("trigger_id", trigger_id),
        )

        def work(session: Session) -> Job:
            session.add(job)
            return job

        return self._write(work)

    def set_job_status(self, job_id: uuid.UUID | str, status: JobStatus | str) -> None:
        """Set a job's status; leaving RUNNING stamps `end_time`.

        Raises:
            ValueError: bad id or status, or no such job.
        """
        key = v.check_uuid("job_id", job_id)
        new_status = v.check_enum(JobStatus, "status", status)
        values: dict[str, object] = {"status": new_status}
        values["end_time"] = None if new_status == JobStatus.RUNNING else datetime.now()

        def work(session: Session) -> None:
            result = session.execute(update(_JOBS).where(_JOBS.c.id == key).values(**values))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise ValueError(f"No job with id {key} exists.")

        self._write(work)

    def end_job(self, job_id: uuid.UUID | str, status: JobStatus | str,
                end_time: datetime | None = None) -> bool:
        """End a RUNNING job with `status`; False when it had already ended.

        `end_time` is when the process ended (default: now); a Scheduler that reports
        after an outage or at its next poll passes the moment it saw the process exit.
        Conditional, so a Scheduler reporting late and a reaper cannot both end it.
        """
        key = v.check_uuid("job_id", job_id)
        new_status = v.check_enum(JobStatus, "status", status)
        ended = end_time or datetime.now()

        def work(session: Session) -> bool:
            result = session.execute(
                update(_JOBS)
                .where(_JOBS.c.id == key, _JOBS.c.status == JobStatus.RUNNING)
                .values(status=new_status, end_time=ended)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

        return self._write(work)

    def get_job(self, job_id: uuid.UUID | str) -> Job:
        """The job with this id.

        Raises:
            ValueError: bad id, or no such job.
        """
        key = v.check_uuid("job_id", job_id)
        job = self._read(lambda session: session.get(Job, key))
        if job is None:
            raise ValueError(f"No job with id {key} exists.")
        return job

    @overload
    def get_jobs(
        self,
        status: JobStatus | str | None = ...,
        process_name: str | None = ...,
        offset: int = ...,
        limit: int | None = ...,
        include_count: Literal[False] = ...,
        order_by: str | None = ...,
        order_desc: bool = ...,
        outcome: JobOutcome | str | None = ...,
        correlation_id: str | None = ...,
        started_from: datetime | None = ...,
    ) -> tuple[Job, ...]: ...

    @overload
    def get_jobs(
        self,
        status: JobStatus | str | None = ...,
        process_name: str | None = ...,
        offset: int = ...,
        limit: int | None = ...,
        *,
        include_count: Literal[True],
        order_by: str | None = ...,
        order_desc: bool = ...,
        outcome: JobOutcome | str | None = ...,
        correlation_id: str | None = ...,
        started_from: datetime | None = ...,
    ) -> tuple[tuple[Job, ...], int]: ...

    def get_jobs(
        self,
        status: JobStatus | str | None = None,
        process_name: str | None = None,
        offset: int = 0,
        limit: int | None = None,
        include_count: bool = False,
        order_by: str | None = None,
        order_desc: bool = True,
        outcome: JobOutcome | str | None = None,
        correlation_id: str | None = None,
        started_from: datetime | None = None,
    ) -> tuple[Job, ...] | tuple[tuple[Job, ...], int]:
        """Jobs, newest first unless `order_by`/`order_desc` say otherwise, optionally
        filtered (status, process, started at or after `started_from`) and paged.

        `outcome` is a reported outcome (COMPLETED, FAILED) or NONE for jobs whose
        process reported nothing.

        Raises:
            ValueError: bad status, outcome, paging values or order column.
        """
        filters = []
        if status:
            filters.append(Job.status == v.check_enum(JobStatus, "status", status))
        if process_name:
            filters.append(Job.process_name == process_name)
        if outcome in ("NONE", "None"):
            filters.append(Job.outcome.is_(None))
        elif outcome:
            filters.append(Job.outcome == v.check_enum(JobOutcome, "outcome", outcome))
        if correlation_id is not None:
            filters.append(Job.correlation_id == correlation_id)
        if started_from is not None:
            filters.append(Job.start_time >= started_from)
        v.check_int("offset", offset, minimum=0)
        column = _JOB_ORDER_COLUMNS.get(order_by or "start_time")
        if column is None:
            raise ValueError(
                f"order_by must be one of {', '.join(_JOB_ORDER_COLUMNS)}; got {order_by!r}."
            )
        ordering = column.desc() if order_desc else column.asc()
        page = select(Job).where(*filters).order_by(ordering, Job.id).offset(offset)
        if limit is not None:
            page = page.limit(v.check_int("limit", limit, minimum=0))

        def work(session: Session) -> tuple[Job, ...] | tuple[tuple[Job, ...], int]:
            jobs = tuple(session.scalars(page))
            if not include_count:
                return jobs
            total = session.scalar(select(func.count()).select_from(Job).where(*filters))
            return jobs, int(total or 0)

        return self._read(work)

    def get_unique_job_process_names(self) -> tuple[str, ...]:
        """Every distinct process name among the jobs, sorted (the Jobs tab's filter)."""
        statement = select(Job.process_name).distinct().order_by(Job.process_name)
        return self._read(lambda session: tuple(session.scalars(statement)))

    def fail_jobs_of_dead_schedulers(
        self, timeout: timedelta, now: datetime | None = None
    ) -> tuple[Job, ...]:
        """Mark FAILED the RUNNING jobs of every Scheduler silent for longer than `timeout`.

        Their triggers (when known) that are still RUNNING, PAUSING or KILLING become
        FAILED, and an ERROR log per job says why. Safe when several Schedulers reap at
        once: each job is ended by one conditional update. Returns the jobs ended here.
        """
        moment = now or datetime.now()
        cutoff = moment - timeout

        def work(session: Session) -> tuple[Job, ...]:
            dead = select(Scheduler.machine_name).where(Scheduler.last_update < cutoff)
            candidates = tuple(
                session.scalars(
                    select(Job).where(Job.status == JobStatus.RUNNING, Job.scheduler_name.in_(dead))
                )
            )
            ended: list[Job] = []
            for job in candidates:
                result = session.execute(
                    update(_JOBS)
                    .where(_JOBS.c.id == job.id, _JOBS.c.status == JobStatus.RUNNING)
                    .values(status=JobStatus.FAILED, end_time=moment)
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                if job.trigger_id is not None:
                    session.execute(
                        update(_TRIGGERS)
                        .where(
                            _TRIGGERS.c.id == job.trigger_id,
                            _TRIGGERS.c.process_status.in_(
                                [
                                    TriggerStatus.RUNNING,
                                    TriggerStatus.PAUSING,
                                    TriggerStatus.KILLING,
                                ]
                            ),
                        )
                        .values(process_status=TriggerStatus.FAILED)
                    )
                session.add(
                    Log(
                        id=new_id(),
                        log_time=moment,
                        log_level=LogLevel.ERROR,
                        process_name=job.process_name,
                        job_id=job.id,
                        log_message=(
                            f"Scheduler '{job.scheduler_name}' stopped sending heartbeats "
                            f"(none for over {int(timeout.total_seconds())} s) while this job "
                            "ran; the job and its trigger were marked FAILED. Check that "
                            "machine, then re-enable the trigger."
                        ),
                    )
                )
                job.status = JobStatus.FAILED
                job.end_time = moment
                ended.append(job)
            return tuple(ended)

        return self._write(work)

"""Job operations: starting, ending (through the state machine), listing."""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Literal, overload

from sqlalchemy import ColumnElement, Connection, exists, or_, select, update
from sqlalchemy.orm import Session

from openorch.database import Job, JobOutcome, JobStatus, Log, LogLevel
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.errors import NotFound
from openorch.store.paging import page_statement, read_page
from openorch.store.runs import state
from openorch.store.runs.failures import failure_reason

_JOBS = table_of(Job)

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
        """Set a job's status unconditionally; leaving RUNNING stamps `end_time`. The
        original OpenOrchestrator's API, kept for scripts; openorch's programs use `end_job`.

        Raises:
            ValueError: bad id or status, or no such job.
        """
        key = v.check_uuid("job_id", job_id)
        new_status = v.check_enum(JobStatus, "status", status)

        def work(connection: Connection) -> None:
            if not state.force_job_status(connection, key, new_status):
                raise NotFound(f"No job with id {key} exists.")

        self._write_core(work)

    def end_job(
        self,
        job_id: uuid.UUID | str,
        status: JobStatus | str,
        message: str | None = None,
        level: LogLevel | str = LogLevel.ERROR,
        end_time: datetime | None = None,
    ) -> bool:
        """End a RUNNING job with `status` in one transaction; False when it had already
        ended. Its trigger moves as the state machine says for that outcome, and
        `message` (when given) becomes a log line of the job at `level`. `end_time` is
        when the process ended (default: now): a Scheduler passes the moment it saw the
        process exit, not the moment it reports.

        Conditional, so a Scheduler reporting late and a reaper cannot both end it.

        Raises:
            ValueError: bad id, or a status that is not DONE, FAILED or KILLED.
        """
        key = v.check_uuid("job_id", job_id)
        new_status = v.check_enum(JobStatus, "status", status)
        log_level = v.check_enum(LogLevel, "level", level)
        return self._write_core(
            lambda connection: state.end_job(
                connection, key, new_status, message, level=log_level, when=end_time
            )
        )

    def record_job_process(
        self, job_id: uuid.UUID | str, pid: int, process_started: float | None
    ) -> None:
        """Record the process a job runs as: its pid and start time (seconds since the
        epoch), what recognises it after a restart even if the pid was reused.

        Raises:
            ValueError: bad id or pid.
        """
        key = v.check_uuid("job_id", job_id)
        number = v.check_int("pid", pid, minimum=0)
        self._write_single(
            lambda connection: connection.execute(
                update(_JOBS)
                .where(_JOBS.c.id == key)
                .values(pid=number, process_started=process_started)
            )
        )

    def get_job(self, job_id: uuid.UUID | str) -> Job:
        """The job with this id.

        Raises:
            ValueError: bad id, or no such job.
        """
        key = v.check_uuid("job_id", job_id)
        job = self._read(lambda session: session.get(Job, key))
        if job is None:
            raise NotFound(f"No job with id {key} exists.")
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
        failure: str | None = ...,
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
        failure: str | None = ...,
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
        failure: str | None = None,
    ) -> tuple[Job, ...] | tuple[tuple[Job, ...], int]:
        """Jobs, newest first unless `order_by`/`order_desc` say otherwise, optionally
        filtered (status, process, outcome, correlation id, started at or after
        `started_from`) and paged.

        `outcome` is a reported outcome (COMPLETED, FAILED) or NONE for jobs whose
        process reported nothing. `failure` keeps FAILED jobs whose reason contains it
        (any case): the failure message the process reported, or an ERROR log of the job
        (where the Scheduler writes the exit code and the end of the error output).

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
        if failure is not None and failure.strip():
            filters.extend(_failure_filters(failure.strip()))
        page = page_statement(
            Job,
            filters,
            columns=_JOB_ORDER_COLUMNS,
            default="start_time",
            order_by=order_by,
            order_desc=order_desc,
            offset=offset,
            limit=limit,
            tiebreak=Job.id,
        )

        def work(session: Session) -> tuple[Job, ...] | tuple[tuple[Job, ...], int]:
            return read_page(session, page, Job, filters, include_count)

        return self._read(work)

    def get_failure_reasons(self, jobs: Iterable[Job]) -> dict[uuid.UUID, str]:
        """Why each FAILED job among `jobs` failed, in one line (`failures.failure_reason`:
        its reported failure message, else its last ERROR log read for the exception line
        and exit code). One query for the page; jobs that did not fail are left out."""
        failed = [job for job in jobs if job.status is JobStatus.FAILED]
        need_logs = [job.id for job in failed if job.outcome is not JobOutcome.FAILED]
        last_error: dict[uuid.UUID, str] = {}
        if need_logs:
            statement = (
                select(Log.job_id, Log.log_message)
                .where(Log.job_id.in_(need_logs), Log.log_level == LogLevel.ERROR)
                .order_by(Log.log_time, Log.id)
            )
            rows = self._read(lambda session: session.execute(statement).all())
            for job_id, message in rows:
                if job_id is not None:
                    last_error[job_id] = message  # ordered by time: the last one stays
        reasons = {job.id: failure_reason(job, last_error.get(job.id)) for job in failed}
        return {key: text for key, text in reasons.items() if text}

    def get_unique_job_process_names(self) -> tuple[str, ...]:
        """Every distinct process name among the jobs, sorted (the Jobs tab's filter)."""
        statement = select(Job.process_name).distinct().order_by(Job.process_name)
        return self._read(lambda session: tuple(session.scalars(statement)))


def _failure_filters(text: str) -> list[ColumnElement[bool]]:
    """FAILED jobs whose reported failure message or one of whose ERROR logs contains
    `text` (any case; % and _ are literal)."""
    v.check_text(Job, "outcome_message", text, label="failure filter")
    in_logs = exists().where(
        Log.job_id == Job.id,
        Log.log_level == LogLevel.ERROR,
        Log.log_message.icontains(text, autoescape=True),
    )
    return [
        Job.status == JobStatus.FAILED,
        or_(Job.outcome_message.icontains(text, autoescape=True), in_logs),
    ]

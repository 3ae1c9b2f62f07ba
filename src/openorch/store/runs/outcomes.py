"""Run outcomes: what a process reports about its own run, and the job status it implies.

A process reports with `report_completion`/`report_failure` (SDK); the Scheduler ends
the job when the process exits. `job_status_after_exit` is the one rule that turns the
two into a job status, so it can move into the job state machine unchanged.
"""

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from openorch.database import Job, JobOutcome, JobStatus, LogLevel
from openorch.database.base import table_of
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput, NotFound
from openorch.store.runs import state

_JOBS = table_of(Job)

#: The largest outcome data accepted, as UTF-8 JSON text (bytes).
MAX_OUTCOME_DATA_BYTES = 64 * 1024


def job_status_after_exit(exit_code: int, outcome: JobOutcome | None) -> JobStatus:
    """The status of a job whose process exited with `exit_code`.

    A non-zero exit is FAILED whatever the process reported; an exit 0 is FAILED when the
    (last) report was a failure, DONE otherwise.
    """
    if exit_code != 0 or outcome is JobOutcome.FAILED:
        return JobStatus.FAILED
    return JobStatus.DONE


def encode_outcome_data(data: Any) -> str | None:
    """`data` as compact JSON text, or None for no data.

    Raises:
        ValueError: not JSON-serialisable (sets, objects, NaN…) or over the size limit.
    """
    if data is None:
        return None
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as error:
        raise BadInput(
            f"data must be JSON-serialisable (dict, list, str, int, float, bool, None): {error}."
        ) from error
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_OUTCOME_DATA_BYTES:
        raise BadInput(
            f"data is too large: {size} bytes as JSON, the limit is {MAX_OUTCOME_DATA_BYTES}."
        )
    v.check_storable("data", text)
    return text


def decode_outcome_data(text: str | None) -> Any:
    """The data a process reported (None when it reported none)."""
    return None if text is None else json.loads(text)


class OutcomeStore(StoreCore):
    """Recording reported outcomes and ending jobs by them."""

    def report_job_outcome(
        self,
        job_id: uuid.UUID | str,
        outcome: JobOutcome | str,
        message: str,
        data: Any = None,
    ) -> None:
        """Record what a process says about its run; a later report replaces an earlier.

        Raises:
            ValueError: bad id, outcome, message or data, or no such job.
        """
        key = v.check_uuid("job_id", job_id)
        kind = v.check_enum(JobOutcome, "outcome", outcome)
        text = v.check_text(Job, "outcome_message", message, label="message", nonblank=True)
        encoded = encode_outcome_data(data)
        values = {
            "outcome": kind,
            "outcome_message": text,
            "outcome_data": encoded,
            "outcome_time": datetime.now(),
        }

        def work(connection: Connection) -> None:
            result = connection.execute(update(_JOBS).where(_JOBS.c.id == key).values(**values))
            if result.rowcount == 0:
                raise NotFound(f"No job with id {key} exists.")

        self._write_single(work)

    def end_job_after_exit(
        self,
        job_id: uuid.UUID | str,
        exit_code: int,
        message: str | None = None,
        level: LogLevel | str = LogLevel.ERROR,
        end_time: datetime | None = None,
    ) -> JobStatus | None:
        """End a RUNNING job by its process's exit code and reported outcome, in one
        transaction through the state machine (`state.end_job`): the job's status by
        `job_status_after_exit`, its trigger by the exit code (a reported failure is the
        run's, not the trigger's), `message` as a log line at `level`; `end_time` is
        when the process exited (default: now).

        Returns the status set, or None when the job had already ended (a reaper or a
        late duplicate report got there first). Elements the job still holds IN_PROGRESS
        are released in the same transaction (see `release_job_elements`).
        """
        key = v.check_uuid("job_id", job_id)
        log_level = v.check_enum(LogLevel, "level", level)
        event = state.TriggerEvent.SUCCEEDED if exit_code == 0 else state.TriggerEvent.FAILED
        if message is None and exit_code != 0:
            # Said in the job's log and in every element it releases: how the run ended.
            message = f"The process ended with exit code {exit_code}."

        def work(connection: Connection) -> JobStatus | None:
            outcome = connection.scalar(select(_JOBS.c.outcome).where(_JOBS.c.id == key))
            status = job_status_after_exit(exit_code, outcome)
            ended = state.end_job(
                connection,
                key,
                status,
                message,
                level=log_level,
                trigger_event=event,
                when=end_time,
            )
            return status if ended else None

        return self._write_core(work)

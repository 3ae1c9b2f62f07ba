"""Run requests: "run this trigger now" from the HTTP API, begun by a Scheduler.

The API only records the request; a Scheduler that may run the trigger (whitelist,
exclusive mode, blocking) begins it exactly like a due trigger, in one transaction that
claims the request, claims the trigger and creates the job.
"""

import string
import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openorch.database import (
    ApiAuditEntry,
    Job,
    JobStatus,
    RunRequest,
    RunRequestStatus,
    Scheduler,
    Trigger,
    TriggerStatus,
)
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store import validation as v
from openorch.store.audit import api_write_entries
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput, NotFound
from openorch.store.runs.triggers import claim_trigger

_REQUESTS = table_of(RunRequest)
_SCHEDULERS = table_of(Scheduler)

#: Trigger states from which a requested run will (eventually) start: IDLE now, or
#: once the run in progress ends. Any other state needs an admin first.
RUNNABLE_STATES = (TriggerStatus.IDLE, TriggerStatus.RUNNING)

_CORRELATION_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_.:/+=@#")


def check_correlation_id(value: object) -> str | None:
    """A caller's correlation id: 1-100 characters of letters, digits and -_.:/+=@#."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"correlation_id must be a string, not {type(value).__name__}.")
    if not 1 <= len(value) <= 100:
        raise BadInput("correlation_id must be 1 to 100 characters long.")
    if not set(value) <= _CORRELATION_CHARACTERS:
        raise BadInput("correlation_id may hold only letters, digits and - _ . : / + = @ #.")
    return value


class RunRequestStore(StoreCore):
    """Recording, beginning and reading requested runs."""

    def request_run(
        self,
        trigger_id: uuid.UUID | str,
        requested_by: str,
        process_args: str | None = None,
        correlation_id: str | None = None,
    ) -> RunRequest:
        """Record a request to run a trigger now, and an audit entry, in one transaction.

        `process_args` None keeps the trigger's arguments. Without a `correlation_id`
        the request's id is used.

        Raises:
            ValueError: bad input, no such trigger, or a trigger that cannot run now
                (paused, failed, done…: an admin must enable it first).
        """
        key = v.check_uuid("trigger_id", trigger_id)
        v.check_text(Trigger, "process_args", process_args, required=False)
        v.check_text(ApiAuditEntry, "token_name", requested_by, label="requested_by", nonblank=True)
        request = RunRequest(
            id=new_id(),
            trigger_id=key,
            process_args=process_args,
            requested_by=requested_by,
            requested_at=datetime.now(),
            status=RunRequestStatus.PENDING,
        )
        request.correlation_id = check_correlation_id(correlation_id) or str(request.id)

        def work(session: Session) -> RunRequest:
            trigger = session.get(Trigger, key)
            if trigger is None:
                raise NotFound(f"No trigger with id {key} exists.")
            if trigger.process_status not in RUNNABLE_STATES:
                raise BadInput(
                    f"Trigger '{trigger.trigger_name}' is {trigger.process_status.name}: only "
                    "an IDLE or RUNNING trigger can be run on request. Enable it first."
                )
            session.add(request)
            session.add_all(
                api_write_entries(
                    requested_by,
                    "run trigger",
                    (
                        f"trigger '{trigger.trigger_name}' ({key}), run {request.id}, "
                        f"correlation id {request.correlation_id}"
                        + (", arguments overridden" if process_args is not None else "")
                    ),
                    object_id=key,
                    object_name=trigger.trigger_name,
                    after={
                        "run_id": request.id,
                        "correlation_id": request.correlation_id,
                        "process_args": request.process_args,
                    },
                    moment=request.requested_at,
                )
            )
            return request

        return self._write(work)

    def get_pending_run_requests(self) -> tuple[tuple[RunRequest, Trigger], ...]:
        """PENDING requests whose trigger is IDLE, oldest first, with their trigger."""
        statement = (
            select(RunRequest, Trigger)
            .join(Trigger, Trigger.id == RunRequest.trigger_id)
            .where(
                RunRequest.status == RunRequestStatus.PENDING,
                Trigger.process_status == TriggerStatus.IDLE,
            )
            .order_by(RunRequest.requested_at, RunRequest.id)
        )

        def work(session: Session) -> tuple[tuple[RunRequest, Trigger], ...]:
            return tuple((row[0], row[1]) for row in session.execute(statement))

        return self._read(work)

    def begin_run_request(
        self,
        request_id: uuid.UUID | str,
        scheduler_name: str,
        run_id: uuid.UUID | None = None,
        now: datetime | None = None,
    ) -> Job | None:
        """Claim a request and its trigger and create the job (owned by the Scheduler's
        run `run_id`), all or nothing; the trigger is begun by the state machine's BEGIN,
        as every due trigger is.

        Returns the RUNNING job, or None when another Scheduler claimed the request or
        the trigger is no longer IDLE (the request then stays PENDING for later).
        """
        key = v.check_uuid("request_id", request_id)
        v.check_text(Job, "scheduler_name", scheduler_name, nonblank=True)
        moment = now or datetime.now()

        class _NotBegun(Exception):
            pass

        def work(session: Session) -> Job:
            request = session.get(RunRequest, key)
            if request is None or request.status is not RunRequestStatus.PENDING:
                raise _NotBegun
            claimed = session.execute(
                update(_REQUESTS)
                .where(_REQUESTS.c.id == key, _REQUESTS.c.status == RunRequestStatus.PENDING)
                .values(status=RunRequestStatus.STARTED)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise _NotBegun
            trigger = session.get(Trigger, request.trigger_id)
            if trigger is None or not claim_trigger(session, trigger.id, moment):
                raise _NotBegun  # rolls the request back to PENDING
            job = Job(
                id=new_id(),
                process_name=trigger.process_name,
                scheduler_name=scheduler_name,
                start_time=moment,
                status=JobStatus.RUNNING,
                trigger_id=trigger.id,
                correlation_id=request.correlation_id,
                run_id=run_id,
            )
            session.add(job)
            session.execute(
                update(_SCHEDULERS)
                .where(_SCHEDULERS.c.machine_name == scheduler_name)
                .values(latest_trigger=trigger.trigger_name[:100], latest_trigger_time=moment)
            )
            session.execute(
                update(_REQUESTS)
                .where(_REQUESTS.c.id == key)
                .values(job_id=job.id, started_at=moment, scheduler_name=scheduler_name)
            )
            return job

        try:
            return self._write(work)
        except _NotBegun:
            return None

    def cancel_run_request(self, request_id: uuid.UUID | str, cancelled_by: str) -> RunRequest:
        """Cancel a run no Scheduler has started yet (and record who did, for the audit).

        Raises:
            ValueError: bad id, no such run, or a run that already started or was cancelled.
        """
        key = v.check_uuid("run_id", request_id)
        v.check_text(ApiAuditEntry, "token_name", cancelled_by, label="cancelled_by", nonblank=True)
        moment = datetime.now()

        def work(session: Session) -> RunRequest:
            result = session.execute(
                update(_REQUESTS)
                .where(_REQUESTS.c.id == key, _REQUESTS.c.status == RunRequestStatus.PENDING)
                .values(status=RunRequestStatus.CANCELLED, message=f"cancelled by {cancelled_by}")
            )
            request = session.get(RunRequest, key)
            if request is None:
                raise NotFound(f"No run with id {key} exists.")
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise BadInput(
                    f"Run {key} is {request.status.name}: only a PENDING run can be cancelled."
                )
            session.add_all(
                api_write_entries(
                    cancelled_by,
                    "cancel run",
                    f"run {key}, correlation id {request.correlation_id}",
                    object_id=key,
                    object_name=request.correlation_id,
                    after={"status": request.status},
                    moment=moment,
                )
            )
            return request

        return self._write(work)

    def get_run_request(self, request_id: uuid.UUID | str) -> RunRequest:
        """The request with this id.

        Raises:
            ValueError: bad id, or no such request.
        """
        key = v.check_uuid("run_id", request_id)
        request = self._read(lambda session: session.get(RunRequest, key))
        if request is None:
            raise NotFound(f"No run with id {key} exists.")
        return request

    def get_run_requests(
        self, correlation_id: str | None = None, limit: int = 100
    ) -> tuple[RunRequest, ...]:
        """Requests, newest first, optionally only those with this correlation id."""
        v.check_int("limit", limit, minimum=0)
        statement = select(RunRequest)
        if correlation_id is not None:
            statement = statement.where(RunRequest.correlation_id == correlation_id)
        statement = statement.order_by(RunRequest.requested_at.desc(), RunRequest.id).limit(limit)
        return self._read(lambda session: tuple(session.scalars(statement)))

"""Persistence of resumable pipelines: where each element stands, and what ran.

The engine (openorch.sdk.pipeline) calls these in a fixed order for each element it
claimed: `adopt_pipeline_element` (take over the element's progress with a fresh fencing
token), then per step part `begin_pipeline_part` (history row written before any of its
code runs) and one of `finish_pipeline_part`, `wait_pipeline_part`, `fail_pipeline_part`
or `time_out_pipeline_part`. Each of those is one transaction that first locks the queue
row and checks that this run still owns the element: IN_PROGRESS, bound to the same job,
and the progress row carrying this run's token. So a process that lost its element (its
job was reaped and the element released, maybe claimed again) can neither start another
step nor overwrite the progress of the run that has it now.
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, select, update
from sqlalchemy.orm import Session

from openorch.database import (
    ElementEvent,
    PipelineRun,
    PipelineStepRun,
    QueueElement,
    QueueStatus,
    ReviewItem,
)
from openorch.database.base import table_of
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput, LostElementError
from openorch.store.queues.history import actor_of
from openorch.store.queues.lifecycle import retry_element
from openorch.store.queues.messages import format_datetime
from openorch.store.queues.status import QueueEvent, transition_values, where_allowed

_QUEUES = table_of(QueueElement)
_RUNS = table_of(PipelineRun)
_HISTORY = table_of(PipelineStepRun)
_REVIEWS = table_of(ReviewItem)
_EVENTS = table_of(ElementEvent)

#: SQL Server ignores FOR UPDATE; these hints lock the row for the transaction.
_MSSQL_LOCK_HINT = "WITH (UPDLOCK, ROWLOCK)"

#: The parts of a step and the outcomes a history row can record.
PARTS = ("start", "continue")
OUTCOMES = ("done", "waiting", "error", "timed out", "interrupted", "review")


@dataclass(frozen=True)
class PipelineProgress:
    """An element's progress as a run that just adopted it sees it."""

    element_id: uuid.UUID
    pipeline: str
    step: str | None
    state: dict[str, Any]
    continuing: bool
    wait_started: datetime | None
    token: uuid.UUID
    job_id: uuid.UUID | None
    #: The steps that finished before (in the order they finished), from the history.
    finished_steps: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class PipelineView:
    """What the element popup shows: the progress row and the history, oldest first."""

    run: PipelineRun
    history: tuple[PipelineStepRun, ...]


def _message(text: str) -> str:
    """Cut a message to the column's length."""
    limit = v.column_length(QueueElement, "message")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dump_state(state: Any) -> str:
    """The state as stored: a JSON object.

    Raises:
        ValueError: the state is not a dict, or not JSON-serialisable (the message says why).
    """
    if not isinstance(state, dict):
        raise BadInput(f"The pipeline state must be a dict, not {type(state).__name__}.")
    try:
        text = json.dumps(state, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise BadInput(f"The pipeline state cannot be saved as JSON: {error}") from None
    v.check_storable("state", text)
    return text


def element_lock_statement(element_id: uuid.UUID) -> Any:
    """SELECT of an element's status and job that locks its row until the transaction
    ends (FOR UPDATE; UPDLOCK/ROWLOCK hints on SQL Server, which ignores FOR UPDATE), so
    a release or a claim of the element waits for the save that checks ownership."""
    return (
        select(_QUEUES.c.status, _QUEUES.c.job_id, _QUEUES.c.queue_name)
        .where(_QUEUES.c.id == element_id)
        .with_for_update()
        .with_hint(_QUEUES, _MSSQL_LOCK_HINT, "mssql")
    )


def _own(
    connection: Connection,
    element_id: uuid.UUID,
    job_id: uuid.UUID | None,
    token: uuid.UUID | None,
) -> str:
    """Lock the element's queue row (and progress row) and check this run owns it.
    Returns the element's queue name.

    Raises:
        LostElementError: it does not (the message says what happened to it).
    """
    row = connection.execute(element_lock_statement(element_id)).first()
    if row is None:
        raise LostElementError(f"Queue element {element_id} no longer exists.")
    if row.status is not QueueStatus.IN_PROGRESS:
        raise LostElementError(
            f"Queue element {element_id} is {row.status.name} now, no longer IN_PROGRESS for "
            "this run (its job ended and it was released, or someone changed it)."
        )
    if row.job_id != job_id:
        raise LostElementError(
            f"Queue element {element_id} is held by job {row.job_id}, not by this run's "
            f"job {job_id}."
        )
    if token is None:
        return str(row.queue_name)
    held = connection.execute(
        select(_RUNS.c.token)
        .where(_RUNS.c.element_id == element_id)
        .with_for_update()
        .with_hint(_RUNS, _MSSQL_LOCK_HINT, "mssql")
    ).scalar()
    if held != token:
        raise LostElementError(
            f"Queue element {element_id} was taken over by another run of its pipeline."
        )
    return str(row.queue_name)


def _close_history(
    connection: Connection,
    history_id: uuid.UUID,
    outcome: str,
    now: datetime,
    message: str | None = None,
) -> None:
    connection.execute(
        update(_HISTORY)
        .where(_HISTORY.c.id == history_id)
        .values(
            finished_date=now,
            outcome=outcome,
            message=None if message is None else _message(message),
        )
    )


class PipelineStore(StoreCore):
    """Pipeline progress: adopt, begin and end step parts, and read it for the screens."""

    def adopt_pipeline_element(
        self,
        element_id: uuid.UUID | str,
        job_id: uuid.UUID | str | None,
        pipeline: str,
        first_step: str,
    ) -> PipelineProgress:
        """Take over the progress of an element this run has just claimed (IN_PROGRESS,
        bound to `job_id`): a new element starts at `first_step` with state {}; one that
        ran before resumes where its last run stopped. Gives the progress a fresh token
        (so an older run that lost the element can save nothing any more) and marks
        history rows left unfinished by a killed run as "interrupted".

        Raises:
            LostElementError: the element is not IN_PROGRESS for `job_id`.
            ValueError: bad names, or the element belongs to another pipeline.
        """
        key = v.check_uuid("element_id", element_id)
        job = v.check_optional_uuid("job_id", job_id)
        v.check_text(PipelineRun, "pipeline", pipeline)
        v.check_text(PipelineRun, "step", first_step)
        token = uuid.uuid4()
        now = datetime.now()

        def work(connection: Connection) -> PipelineProgress:
            queue_name = _own(connection, key, job, None)
            row = connection.execute(
                select(_RUNS)
                .where(_RUNS.c.element_id == key)
                .with_for_update()
                .with_hint(_RUNS, _MSSQL_LOCK_HINT, "mssql")
            ).first()
            if row is None:
                connection.execute(
                    _RUNS.insert().values(
                        element_id=key,
                        queue_name=queue_name,
                        pipeline=pipeline,
                        step=first_step,
                        state="{}",
                        continuing=False,
                        wait_started=None,
                        token=token,
                        updated_date=now,
                    )
                )
                return PipelineProgress(key, pipeline, first_step, {}, False, None, token, job)
            if row.pipeline != pipeline:
                raise BadInput(
                    f"Queue element {key} is run by pipeline {row.pipeline!r}, not "
                    f"{pipeline!r}: two pipelines must not share a queue."
                )
            connection.execute(
                update(_RUNS).where(_RUNS.c.element_id == key).values(token=token, updated_date=now)
            )
            connection.execute(
                update(_HISTORY)
                .where(_HISTORY.c.element_id == key, _HISTORY.c.outcome.is_(None))
                .values(
                    outcome="interrupted",
                    message="The run stopped before this part finished (its process "
                    "ended or lost the element).",
                )
            )
            finished = connection.execute(
                select(_HISTORY.c.step)
                .where(_HISTORY.c.element_id == key, _HISTORY.c.outcome == "done")
                .order_by(_HISTORY.c.finished_date)
            ).scalars()
            return PipelineProgress(
                key,
                pipeline,
                row.step,
                json.loads(row.state or "{}"),
                bool(row.continuing),
                row.wait_started,
                token,
                job,
                tuple(finished),
            )

        return self._write_core(work)

    def begin_pipeline_part(self, progress: PipelineProgress, step: str, part: str) -> uuid.UUID:
        """Record that `part` ("start" or "continue") of `step` starts now for this run,
        before any of its code runs. Returns the history row's id.

        Raises:
            LostElementError: the run no longer owns the element (nothing written).
            ValueError: bad step or part.
        """
        v.check_text(PipelineStepRun, "step", step)
        if part not in PARTS:
            raise BadInput(f"part must be one of {', '.join(PARTS)}; got {part!r}.")
        history_id = uuid.uuid4()
        now = datetime.now()

        def work(connection: Connection) -> uuid.UUID:
            _own(connection, progress.element_id, progress.job_id, progress.token)
            connection.execute(
                _HISTORY.insert().values(
                    id=history_id,
                    element_id=progress.element_id,
                    pipeline=progress.pipeline,
                    step=step,
                    part=part,
                    job_id=progress.job_id,
                    started_date=now,
                    finished_date=None,
                    outcome=None,
                    message=None,
                )
            )
            return history_id

        return self._write_core(work)

    def finish_pipeline_part(
        self,
        progress: PipelineProgress,
        history_id: uuid.UUID | None,
        state: dict[str, Any],
        next_step: str | None,
    ) -> None:
        """Save, in one transaction, that the current step finished: its history row, the
        state, and the next step to run. With no next step the element becomes DONE.

        Raises:
            LostElementError: the run no longer owns the element (nothing written).
            ValueError: the state is not a JSON object.
        """
        text = dump_state(state)
        if next_step is not None:
            v.check_text(PipelineRun, "step", next_step)
        now = datetime.now()

        def work(connection: Connection) -> None:
            _own(connection, progress.element_id, progress.job_id, progress.token)
            if history_id is not None:
                _close_history(connection, history_id, "done", now)
            connection.execute(
                update(_RUNS)
                .where(_RUNS.c.element_id == progress.element_id)
                .values(
                    step=next_step,
                    state=text,
                    continuing=False,
                    wait_started=None,
                    updated_date=now,
                )
            )
            if next_step is None:
                connection.execute(
                    update(_QUEUES)
                    .where(_QUEUES.c.id == progress.element_id, *where_allowed(QueueEvent.COMPLETE))
                    .values(
                        **transition_values(QueueEvent.COMPLETE, now),
                        not_before=None,
                        message=_message(f"Pipeline {progress.pipeline!r} finished."),
                    )
                )

        self._write_core(work)

    def wait_pipeline_part(
        self,
        progress: PipelineProgress,
        history_id: uuid.UUID,
        step: str,
        state: dict[str, Any],
        not_before: datetime,
        wait_started: datetime,
    ) -> None:
        """Save that the current step asked to be continued later: the state, the step's
        place (its continue part runs next) and, on the queue row, NEW with `not_before`
        (no new status: the original's tools see a deferred NEW element). Not an attempt.

        Raises:
            LostElementError: the run no longer owns the element (nothing written).
            ValueError: the state is not a JSON object.
        """
        text = dump_state(state)
        v.check_datetime("not_before", not_before)
        now = datetime.now()
        when = format_datetime(not_before)

        def work(connection: Connection) -> None:
            _own(connection, progress.element_id, progress.job_id, progress.token)
            _close_history(connection, history_id, "waiting", now, f"Continues not before {when}.")
            connection.execute(
                update(_RUNS)
                .where(_RUNS.c.element_id == progress.element_id)
                .values(state=text, continuing=True, wait_started=wait_started, updated_date=now)
            )
            connection.execute(
                update(_QUEUES)
                .where(_QUEUES.c.id == progress.element_id, *where_allowed(QueueEvent.WAIT))
                .values(
                    **transition_values(QueueEvent.WAIT, now),
                    not_before=not_before,
                    job_id=None,
                    message=_message(
                        f"Pipeline {progress.pipeline!r} waits in step {step!r}; it continues "
                        f"not before {when}."
                    ),
                )
            )

        self._write_core(work)

    def fail_pipeline_part(
        self,
        progress: PipelineProgress,
        history_id: uuid.UUID | None,
        message: str,
        kind: str = "application",
    ) -> QueueStatus:
        """Record that the current part raised, and count the attempt: the element goes
        back to NEW (after the queue's retry delay) while attempts remain, else FAILED,
        with `message` (which names the step and the error). A business failure (`kind`)
        is FAILED at once and goes to review per the queue's setting. The state stays as
        saved after the last finished step. Returns the element's new status.

        Raises:
            LostElementError: the run no longer owns the element (nothing written).
        """
        now = datetime.now()

        def work(connection: Connection) -> QueueStatus:
            _own(connection, progress.element_id, progress.job_id, progress.token)
            if history_id is not None:
                _close_history(connection, history_id, "error", now, message)
            return retry_element(
                connection,
                progress.element_id,
                _message(message),
                now,
                kind,
                actor_of(self, None),
            )

        return self._write_core(work)

    def time_out_pipeline_part(
        self, progress: PipelineProgress, history_id: uuid.UUID | None, message: str
    ) -> None:
        """The current step ran out of its time limit: the element FAILS with `message`
        (no further attempt), and the step's wait is forgotten, so an admin who sets the
        element back to NEW restarts the step from its start part.

        Raises:
            LostElementError: the run no longer owns the element (nothing written).
        """
        now = datetime.now()

        def work(connection: Connection) -> None:
            _own(connection, progress.element_id, progress.job_id, progress.token)
            if history_id is not None:
                _close_history(connection, history_id, "timed out", now, message)
            connection.execute(
                update(_RUNS)
                .where(_RUNS.c.element_id == progress.element_id)
                .values(continuing=False, wait_started=None, updated_date=now)
            )
            connection.execute(
                update(_QUEUES)
                .where(_QUEUES.c.id == progress.element_id, *where_allowed(QueueEvent.FAIL))
                .values(**transition_values(QueueEvent.FAIL, now), message=_message(message))
            )

        self._write_core(work)

    def fail_pipeline_element(
        self, element_id: uuid.UUID | str, job_id: uuid.UUID | str | None, message: str
    ) -> None:
        """Fail an element this run claimed but cannot run (it belongs to another
        pipeline, or its saved step is not one of the pipeline's): FAILED with `message`.

        Raises:
            LostElementError: the element is not IN_PROGRESS for `job_id`.
        """
        key = v.check_uuid("element_id", element_id)
        job = v.check_optional_uuid("job_id", job_id)
        now = datetime.now()

        def work(connection: Connection) -> None:
            _own(connection, key, job, None)
            connection.execute(
                update(_QUEUES)
                .where(_QUEUES.c.id == key, *where_allowed(QueueEvent.FAIL))
                .values(**transition_values(QueueEvent.FAIL, now), message=_message(message))
            )

        self._write_core(work)

    # --- reading, for the Orchestrator and tests ------------------------------------

    def get_pipeline_view(self, element_id: uuid.UUID | str) -> "PipelineView | None":
        """The element's progress and step history in one read (the element popup), or
        None when no pipeline ever ran it.

        Raises:
            ValueError: bad id.
        """
        key = v.check_uuid("element_id", element_id)
        statement = (
            select(PipelineStepRun)
            .where(PipelineStepRun.element_id == key)
            .order_by(PipelineStepRun.started_date, PipelineStepRun.id)
        )

        def work(session: Session) -> PipelineView | None:
            run = session.get(PipelineRun, key)
            if run is None:
                return None
            return PipelineView(run, tuple(session.scalars(statement)))

        return self._read(work)

    def get_pipeline_run(self, element_id: uuid.UUID | str) -> PipelineRun | None:
        """The element's pipeline progress, or None when no pipeline ever ran it.

        Raises:
            ValueError: bad id.
        """
        key = v.check_uuid("element_id", element_id)
        return self._read(lambda session: session.get(PipelineRun, key))

    def get_pipeline_history(self, element_id: uuid.UUID | str) -> tuple[PipelineStepRun, ...]:
        """Every run of a step part for the element, oldest first.

        Raises:
            ValueError: bad id.
        """
        key = v.check_uuid("element_id", element_id)
        statement = (
            select(PipelineStepRun)
            .where(PipelineStepRun.element_id == key)
            .order_by(PipelineStepRun.started_date, PipelineStepRun.id)
        )
        return self._read(lambda session: tuple(session.scalars(statement)))

    def get_pipeline_steps(self, queue_name: str) -> tuple[str, ...]:
        """The current steps the queue's pipeline elements stand at (for a filter list),
        sorted; elements whose pipeline finished have none. Read from the
        (queue_name, step) index alone.

        Raises:
            ValueError: bad queue name.
        """
        v.check_text(QueueElement, "queue_name", queue_name)
        statement = (
            select(_RUNS.c.step)
            .distinct()
            .where(_RUNS.c.queue_name == queue_name, _RUNS.c.step.is_not(None))
            .order_by(_RUNS.c.step)
        )
        return self._read(lambda session: tuple(session.scalars(statement)))


# --- the pipeline terms the element operations use (store/queues/elements.py, admin.py) --


def step_filter(queue_name: str, step: str) -> Any:
    """WHERE term: the element's pipeline currently stands at `step` (for element_filters);
    the subquery reads the (queue_name, step) index."""
    return _QUEUES.c.id.in_(
        select(_RUNS.c.element_id).where(_RUNS.c.queue_name == queue_name, _RUNS.c.step == step)
    )


def delete_progress(connection: Connection, element_ids: Any) -> None:
    """Delete the pipeline rows, review items and history of the elements `element_ids`
    (a list or a subquery of ids), in the caller's transaction that deletes the elements."""
    for table in (_HISTORY, _RUNS, _REVIEWS, _EVENTS):
        connection.execute(delete(table).where(table.c.element_id.in_(element_ids)))


def delete_orphaned_progress(connection: Connection) -> None:
    """Delete the pipeline rows whose element no longer exists, in the caller's
    transaction after a bulk delete (also those the original's deletes left behind).
    One index lookup on Queues' primary key per pipeline row."""
    for table, column in ((_HISTORY, _HISTORY.c.element_id), (_RUNS, _RUNS.c.element_id)):
        connection.execute(
            delete(table).where(~exists(select(_QUEUES.c.id).where(_QUEUES.c.id == column)))
        )

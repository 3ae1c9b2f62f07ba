"""The one state machine for trigger and job statuses.

Every status change openorch makes — the Scheduler beginning and ending runs, the reaper,
the cleanup after a restart, the Orchestrator's Enable/Disable/Kill buttons, the SDK's
`pause_my_trigger`, a status saved with `update_trigger` — goes through this module. The
allowed transitions are data (`TRIGGER_TRANSITIONS`, `JOB_TRANSITIONS`); `change_trigger`
and `end_job` apply them, each as conditional UPDATEs (`WHERE status IN (allowed
sources)`), so two programs that change one row at once cannot overwrite each other's
decision: the second finds the status moved and changes nothing.

The functions take an open Core `Connection` and run inside the caller's transaction, so
the data layer can put more work in the same transaction (a job, its trigger, its log
line, and whatever `_job_ended` adds, commit or roll back together).
"""

import enum
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, DateTime, func, insert, select, text, update

from openorch.database import (
    Job,
    JobStatus,
    Log,
    LogLevel,
    ScheduledTrigger,
    Trigger,
    TriggerStatus,
    TriggerType,
)
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store.errors import BadInput, NotFound, TransitionRefused
from openorch.store.queues.lifecycle import release_job_elements
from openorch.store.runs.logs import clean_message

_TRIGGERS = table_of(Trigger)
_SCHEDULED = table_of(ScheduledTrigger)
_JOBS = table_of(Job)
_LOGS = table_of(Log)


class TriggerEvent(enum.Enum):
    """Something that happens to a trigger; `TRIGGER_TRANSITIONS` says what it does."""

    BEGIN = "begin"  #: a Scheduler starts it
    SUCCEEDED = "succeeded"  #: its process exited 0
    FAILED = "failed"  #: its process failed, could not launch, or its Scheduler was lost
    KILLED = "killed"  #: its Scheduler killed the process
    ENABLE = "enable"  #: an admin's Enable
    DISABLE = "disable"  #: an admin's Disable
    KILL = "kill"  #: an admin's Kill: the Scheduler running it kills the process
    PAUSE_SELF = "pause_self"  #: the SDK's pause_my_trigger, from the running process


class Flavour(enum.Enum):
    """What kind of trigger an event meets (the outcome of a run depends on it)."""

    ONCE = "once"  #: a Single trigger
    RECURRING = "recurring"  #: Scheduled or Queue, stops after a failure (the default)
    RECURRING_KEEP = "recurring_keep"  #: Scheduled or Queue, keeps running after a failure


S = TriggerStatus
#: Statuses of a trigger whose process runs.
ACTIVE = frozenset({S.RUNNING, S.PAUSING, S.KILLING})
#: Statuses of a trigger whose process does not run.
AT_REST = frozenset(set(S) - ACTIVE)

_DISABLE = {S.RUNNING: S.PAUSING, S.PAUSING: S.PAUSING} | {status: S.PAUSED for status in AT_REST}
_AFTER_SUCCESS_RECURRING = {S.RUNNING: S.IDLE, S.PAUSING: S.PAUSED, S.KILLING: S.KILLED}
_AFTER_FAILURE_STOP = {status: S.FAILED for status in ACTIVE}


def _all(mapping: Mapping[TriggerStatus, TriggerStatus]) -> dict[Flavour, dict[S, S]]:
    return {flavour: dict(mapping) for flavour in Flavour}


#: For each event and kind of trigger: from which status to which. A status not listed
#: refuses the event (nothing changes). Read as: "ENABLE on RUNNING" is absent, so an
#: admin cannot make a running trigger IDLE (a second Scheduler would start it again).
TRIGGER_TRANSITIONS: dict[TriggerEvent, dict[Flavour, dict[TriggerStatus, TriggerStatus]]] = {
    TriggerEvent.BEGIN: _all({S.IDLE: S.RUNNING}),
    TriggerEvent.SUCCEEDED: {
        Flavour.ONCE: {S.RUNNING: S.DONE, S.PAUSING: S.DONE, S.KILLING: S.KILLED},
        Flavour.RECURRING: dict(_AFTER_SUCCESS_RECURRING),
        Flavour.RECURRING_KEEP: dict(_AFTER_SUCCESS_RECURRING),
    },
    TriggerEvent.FAILED: {
        Flavour.ONCE: dict(_AFTER_FAILURE_STOP),
        Flavour.RECURRING: dict(_AFTER_FAILURE_STOP),
        # "After a failure: keep running": as after a success.
        Flavour.RECURRING_KEEP: dict(_AFTER_SUCCESS_RECURRING),
    },
    TriggerEvent.KILLED: _all({status: S.KILLED for status in ACTIVE}),
    TriggerEvent.ENABLE: _all({status: S.IDLE for status in AT_REST} | {S.PAUSING: S.RUNNING}),
    TriggerEvent.DISABLE: _all(_DISABLE),
    TriggerEvent.KILL: _all({S.RUNNING: S.KILLING, S.PAUSING: S.KILLING, S.KILLING: S.KILLING}),
    TriggerEvent.PAUSE_SELF: _all(_DISABLE),
}

#: Why an event is refused, for the message an admin or a caller reads.
REFUSALS: dict[TriggerEvent, str] = {
    TriggerEvent.ENABLE: "its process is running (or being killed); it can be enabled when "
    "the run ends",
    TriggerEvent.DISABLE: "it is being killed",
    TriggerEvent.KILL: "it is not running, so there is nothing to kill",
    TriggerEvent.PAUSE_SELF: "it is being killed",
    TriggerEvent.BEGIN: "it is not IDLE",
}

#: Job statuses: a RUNNING job ends once, as DONE, FAILED or KILLED; an ended job never
#: changes again (so a late report and a reaper cannot both end it).
JOB_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.RUNNING: frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.KILLED}),
}

#: The trigger event that a job's end means.
JOB_END_EVENTS: dict[JobStatus, TriggerEvent] = {
    JobStatus.DONE: TriggerEvent.SUCCEEDED,
    JobStatus.FAILED: TriggerEvent.FAILED,
    JobStatus.KILLED: TriggerEvent.KILLED,
}


def allowed(event: TriggerEvent, flavour: Flavour, status: TriggerStatus) -> TriggerStatus | None:
    """Where `event` takes a trigger of this flavour from `status` (None: refused)."""
    return TRIGGER_TRANSITIONS[event][flavour].get(status)


def is_known_transition(source: TriggerStatus, target: TriggerStatus) -> bool:
    """True when some event, for some kind of trigger, moves `source` to `target`."""
    return any(
        mapping.get(source) == target
        for flavours in TRIGGER_TRANSITIONS.values()
        for mapping in flavours.values()
    )


def flavour_of(trigger_type: TriggerType | None, keep_running: bool | None) -> Flavour:
    """The flavour of a trigger from its type and its after-a-failure choice."""
    if trigger_type is TriggerType.SINGLE:
        return Flavour.ONCE
    return Flavour.RECURRING_KEEP if keep_running else Flavour.RECURRING


def database_now_expression(connection: Connection) -> ColumnElement[datetime] | None:
    """The database's clock as SQL, to write within a statement (None on SQLite, whose
    clock is the calling machine's: write `datetime.now()` there)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return func.localtimestamp(type_=DateTime())
    if dialect == "mssql":
        return func.sysdatetime(type_=DateTime())
    return None


def database_now(connection: Connection) -> datetime:
    """The database's clock (its session's local time), so no robot's clock decides.

    SQLite has no server: its clock is the clock of the machine that opens the file.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        value = connection.execute(text("SELECT LOCALTIMESTAMP")).scalar_one()
    elif dialect == "mssql":
        value = connection.execute(text("SELECT SYSDATETIME()")).scalar_one()
    else:
        return datetime.now()
    assert isinstance(value, datetime)
    return value.replace(tzinfo=None)


# --- triggers -------------------------------------------------------------------------


def change_trigger(
    connection: Connection,
    trigger_id: uuid.UUID,
    event: TriggerEvent,
    *,
    flavour: Flavour | None = None,
    values: Mapping[str, Any] | None = None,
) -> TriggerStatus | None:
    """Apply `event` to one trigger; the new status, or None when refused or absent.

    One conditional UPDATE per target status (`WHERE status IN sources`); `values` are
    written with the status (BEGIN stamps `last_run`). `flavour` is read from the row
    when the event's transitions depend on it and it is not given.
    """
    flavours = TRIGGER_TRANSITIONS[event]
    if flavour is None:
        first = next(iter(flavours.values()))
        if all(mapping == first for mapping in flavours.values()):
            flavour = Flavour.ONCE
        else:
            row = connection.execute(
                select(_TRIGGERS.c.type, _TRIGGERS.c.keep_running_after_failure).where(
                    _TRIGGERS.c.id == trigger_id
                )
            ).first()
            if row is None:
                return None
            flavour = flavour_of(row[0], row[1])
    by_target: dict[TriggerStatus, list[TriggerStatus]] = {}
    for source, target in flavours[flavour].items():
        by_target.setdefault(target, []).append(source)
    for target, sources in by_target.items():
        result = connection.execute(
            update(_TRIGGERS)
            .where(_TRIGGERS.c.id == trigger_id, _TRIGGERS.c.process_status.in_(sources))
            .values(process_status=target, **dict(values or {}))
        )
        if result.rowcount == 1:
            return target
    return None


def require_trigger_change(
    connection: Connection, trigger_id: uuid.UUID, event: TriggerEvent
) -> TriggerStatus:
    """`change_trigger` for an admin's or a caller's request: refusal is an error.

    Raises:
        TransitionRefused: the trigger's status does not allow the event (message says
            which status and why).
        ValueError: no such trigger.
    """
    new_status = change_trigger(connection, trigger_id, event)
    if new_status is not None:
        return new_status
    current = connection.execute(
        select(_TRIGGERS.c.process_status).where(_TRIGGERS.c.id == trigger_id)
    ).scalar()
    if current is None:
        raise NotFound(f"No trigger with id {trigger_id} exists.")
    action = event.value.replace("_", " ").capitalize()
    raise TransitionRefused(
        f"{action} refused: the trigger is {current.value}; {REFUSALS.get(event, 'not allowed')}."
    )


#: A status a script asks for by saving a trigger object (`update_trigger`, the way
#: OpenOrchestrator 3.0.0's scripts pause, re-enable or reset triggers), and the
#: Orchestrator button whose effect it gets. The other statuses (RUNNING, DONE, FAILED)
#: are a run's to set: saving them is refused.
REQUESTED_STATUS_EVENTS: dict[TriggerStatus, TriggerEvent] = {
    S.IDLE: TriggerEvent.ENABLE,
    S.PAUSED: TriggerEvent.DISABLE,
    S.PAUSING: TriggerEvent.DISABLE,
    S.KILLING: TriggerEvent.KILL,
    S.KILLED: TriggerEvent.KILL,
}


def request_trigger_status(
    connection: Connection, trigger_id: uuid.UUID, requested: TriggerStatus
) -> TriggerStatus:
    """Apply a status a caller asked for by name, as the Orchestrator's button with that
    effect (`REQUESTED_STATUS_EVENTS`): IDLE is Enable, PAUSED or PAUSING is Disable
    (a running trigger becomes PAUSING, then PAUSED when its run ends), KILLING or
    KILLED is Kill. Returns the status the trigger now has.

    Raises:
        TransitionRefused: a status only a run sets, or one the button refuses now
            (Enable while the process runs, Kill when nothing runs); nothing changed.
        ValueError: no such trigger.
    """
    event = REQUESTED_STATUS_EVENTS.get(requested)
    if event is None:
        raise TransitionRefused(
            f"process_status cannot be set to {requested.name} by saving the trigger: "
            "RUNNING, DONE and FAILED are set when a run begins or ends. Save IDLE "
            "(enable), PAUSED (disable) or KILLING (kill), or call "
            "set_trigger_status(trigger_id, status) to set any status unconditionally, "
            "as OpenOrchestrator 3.0.0 did."
        )
    try:
        return require_trigger_change(connection, trigger_id, event)
    except TransitionRefused as refusal:
        raise TransitionRefused(f"process_status {requested.name}: {refusal}") from None


def begin_trigger(connection: Connection, trigger_id: uuid.UUID, moment: datetime) -> bool:
    """IDLE → RUNNING with `last_run = moment`; a Scheduled trigger's `next_run` moves to
    its next run after `moment` (its zone and calendar applied; missed runs are not caught
    up). False: someone
    else began or changed it first."""
    began = change_trigger(connection, trigger_id, TriggerEvent.BEGIN, values={"last_run": moment})
    if began is None:
        return False
    # Imported here, not with the module: only a Scheduler begins triggers, and every
    # robot process imports this module (SDK start-up time, docs/benchmarks.md).
    from openorch.store.runs.calendars import schedule_of
    from openorch.store.runs.schedule import stored_next_run

    schedule = schedule_of(connection, trigger_id)
    if schedule is not None:
        # Zone, DST and calendar rules: store/runs/schedule.py (the same as every preview).
        connection.execute(
            update(_SCHEDULED)
            .where(_SCHEDULED.c.id == trigger_id)
            .values(next_run=stored_next_run(schedule, moment))
        )
    return True


def move_trigger(
    connection: Connection,
    trigger_id: uuid.UUID,
    sources: "list[TriggerStatus] | tuple[TriggerStatus, ...]",
    target: TriggerStatus,
) -> bool:
    """Move a trigger from any of `sources` to `target` in one conditional UPDATE; True
    when it moved. Every source → target pair must be a transition of the table.

    Raises:
        BadInput: a pair no event allows.
    """
    for source in sources:
        if source != target and not is_known_transition(source, target):
            raise BadInput(
                f"No transition leads from {source.name} to {target.name}; see "
                "openorch.store.runs.state.TRIGGER_TRANSITIONS."
            )
    result = connection.execute(
        update(_TRIGGERS)
        .where(_TRIGGERS.c.id == trigger_id, _TRIGGERS.c.process_status.in_(list(sources)))
        .values(process_status=target)
    )
    return bool(result.rowcount == 1)


def force_trigger_status(
    connection: Connection, trigger_id: uuid.UUID, status: TriggerStatus
) -> bool:
    """The original OpenOrchestrator's unconditional `set_trigger_status`, kept for
    scripts written against it. openorch's own programs never call it: they use events.
    False when no such trigger exists."""
    result = connection.execute(
        update(_TRIGGERS).where(_TRIGGERS.c.id == trigger_id).values(process_status=status)
    )
    return bool(result.rowcount == 1)


# --- jobs -----------------------------------------------------------------------------


def end_job(
    connection: Connection,
    job_id: uuid.UUID,
    status: JobStatus,
    message: str | None = None,
    *,
    level: LogLevel = LogLevel.ERROR,
    when: datetime | None = None,
    trigger_event: TriggerEvent | None = None,
) -> bool:
    """End a RUNNING job, in the caller's transaction; False when it had already ended.

    When this call ends it (and only then): its trigger gets the matching event
    (`JOB_END_EVENTS`, or `trigger_event`), `message` becomes a log line of the job at
    `level`, and `_job_ended` runs its same-transaction work. So a Scheduler reporting
    late cannot undo what a reaper decided, nor the other way round.

    Raises:
        ValueError: `status` is not an end status.
    """
    if status not in JOB_TRANSITIONS[JobStatus.RUNNING]:
        raise BadInput(f"A job ends as DONE, FAILED or KILLED, not {status.name}.")
    moment = when or datetime.now()
    result = connection.execute(
        update(_JOBS)
        .where(_JOBS.c.id == job_id, _JOBS.c.status.in_(list(JOB_TRANSITIONS)))
        .values(status=status, end_time=moment)
    )
    if result.rowcount != 1:
        return False
    row = connection.execute(
        select(_JOBS.c.trigger_id, _JOBS.c.process_name).where(_JOBS.c.id == job_id)
    ).one()
    trigger_id, process_name = row[0], row[1]
    if trigger_id is not None:
        change_trigger(connection, trigger_id, trigger_event or JOB_END_EVENTS[status])
    if message is not None:
        connection.execute(
            insert(_LOGS).values(
                id=new_id(),
                log_time=moment,
                log_level=level,
                process_name=process_name,
                log_message=clean_message(message),
                job_id=job_id,
            )
        )
    _job_ended(connection, job_id, status, moment, message)
    return True


def _job_ended(
    connection: Connection,
    job_id: uuid.UUID,
    status: JobStatus,
    when: datetime | None = None,
    message: str | None = None,
) -> None:
    """THE hook for same-transaction work when a job ends, whoever ends it: the
    Scheduler's outcome, launch failures, kills, the reaper, the restart cleanup, and the
    original's `set_job_status` when it ends a RUNNING job. It runs only when the job
    really ended in this transaction (never for a second, late report), after the trigger
    moved and the log line was written; whatever it does commits or rolls back with them.

    Here: the queue elements the job's process claimed and still holds IN_PROGRESS are
    released (NEW after the queue's retry delay while attempts remain, else ABANDONED),
    their message naming the job, how it ended and the first line of `message` (why).
    """
    reason = None
    if message:
        first = message.strip().splitlines()[0] if message.strip() else ""
        reason = first[:200] + ("…" if len(first) > 200 else "") if first else None
    release_job_elements(connection, job_id, status, when or datetime.now(), reason)


def force_job_status(connection: Connection, job_id: uuid.UUID, status: JobStatus) -> bool:
    """The original OpenOrchestrator's unconditional `set_job_status` (leaving RUNNING
    stamps `end_time`), kept for scripts written against it. False: no such job."""
    end_time = None if status is JobStatus.RUNNING else datetime.now()
    if status in JOB_TRANSITIONS[JobStatus.RUNNING]:
        # Ending a RUNNING job this way still does the same-transaction work of an end.
        ended = connection.execute(
            update(_JOBS)
            .where(_JOBS.c.id == job_id, _JOBS.c.status == JobStatus.RUNNING)
            .values(status=status, end_time=end_time)
        )
        if ended.rowcount == 1:
            _job_ended(connection, job_id, status, end_time)
            return True
    result = connection.execute(
        update(_JOBS).where(_JOBS.c.id == job_id).values(status=status, end_time=end_time)
    )
    return bool(result.rowcount == 1)

"""Trigger operations: create, read, update, delete, find pending, and begin atomically."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, inspect, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from openorch.database import (
    Calendar,
    Job,
    JobStatus,
    QueueElement,
    QueueStatus,
    QueueTrigger,
    ScheduledTrigger,
    Scheduler,
    SingleTrigger,
    Trigger,
    TriggerStatus,
)
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput, NotFound
from openorch.store.runs import schedule as sch
from openorch.store.runs import state
from openorch.store.runs.calendars import build_schedule, check_hhmm, days_off, queue_window_open
from openorch.store.runs.schedule import CalendarRule

_TRIGGERS = table_of(Trigger)
_JOBS = table_of(Job)
_SCHEDULERS = table_of(Scheduler)
_JOB_COLUMNS = tuple(column.name for column in _JOBS.columns)

#: `_changed`'s answer for an attribute the caller did not change.
_UNCHANGED: Any = object()


def _changed(trigger: Trigger, attribute: str) -> Any:
    """The value the caller gave `attribute` since the object was read (or on a new
    object), else `_UNCHANGED`: SQLAlchemy tracks changes on detached objects too."""
    history = inspect(trigger).attrs[attribute].history
    return history.added[-1] if history.added else _UNCHANGED


def claim_trigger(session: Session, key: uuid.UUID, moment: datetime) -> bool:
    """Inside a write transaction: the state machine's BEGIN (IDLE → RUNNING, `last_run`
    stamped, a scheduled trigger's `next_run` moved to its next cron time). False when
    it was not IDLE.

    The one "begin" every path shares (a due trigger, a run requested over HTTP).
    """
    return state.begin_trigger(session.connection(), key, moment)


class TriggerStore(StoreCore):
    """Everything the programs do to triggers."""

    # --- create -------------------------------------------------------------------

    def create_single_trigger(
        self,
        trigger_name: str,
        process_name: str,
        next_run: datetime,
        process_path: str,
        process_args: str | None,
        is_git_repo: bool,
        is_blocking: bool,
        priority: int = 0,
        scheduler_whitelist: Sequence[str] | None = None,
        git_branch: str | None = None,
        keep_running_after_failure: bool | None = None,
    ) -> uuid.UUID:
        """Create a trigger that runs once at `next_run`. Returns its id.

        Raises:
            ValueError: a field is missing, too long or of the wrong type.
        """
        trigger = SingleTrigger(next_run=v.check_datetime("next_run", next_run))
        self._fill_common(
            trigger,
            trigger_name,
            process_name,
            process_path,
            process_args,
            is_git_repo,
            is_blocking,
            priority,
            scheduler_whitelist,
            git_branch,
            keep_running_after_failure,
        )
        return self._add(trigger)

    def create_scheduled_trigger(
        self,
        trigger_name: str,
        process_name: str,
        cron_expr: str,
        next_run: datetime,
        process_path: str,
        process_args: str | None,
        is_git_repo: bool,
        is_blocking: bool,
        priority: int = 0,
        scheduler_whitelist: Sequence[str] | None = None,
        git_branch: str | None = None,
        keep_running_after_failure: bool | None = None,
        time_zone: str | None = None,
        calendar_id: uuid.UUID | str | None = None,
        calendar_rule: str | CalendarRule | None = None,
    ) -> uuid.UUID:
        """Create a trigger that runs at every time `cron_expr` names, first at `next_run`.

        `time_zone` (IANA name) is the zone the cron is read in (None: the machine's
        local time, as the original); `calendar_id` and `calendar_rule` (SKIP, MOVE,
        WORKING_DAYS) apply a business calendar. See store/runs/schedule.py.

        Raises:
            ValueError: bad cron expression, zone, calendar or rule, or a field is
                missing, too long or mistyped.
        """
        v.check_text(ScheduledTrigger, "cron_expr", cron_expr)
        trigger = ScheduledTrigger(
            cron_expr=v.check_cron(cron_expr),
            next_run=v.check_datetime("next_run", next_run),
            time_zone=time_zone,
            calendar_id=calendar_id,
            calendar_rule=calendar_rule,
        )
        self._check_calendar_fields(trigger)
        self._fill_common(
            trigger,
            trigger_name,
            process_name,
            process_path,
            process_args,
            is_git_repo,
            is_blocking,
            priority,
            scheduler_whitelist,
            git_branch,
            keep_running_after_failure,
        )
        return self._add(trigger)

    def create_queue_trigger(
        self,
        trigger_name: str,
        process_name: str,
        queue_name: str,
        process_path: str,
        process_args: str | None,
        is_git_repo: bool,
        is_blocking: bool,
        min_batch_size: int,
        priority: int = 0,
        scheduler_whitelist: Sequence[str] | None = None,
        git_branch: str | None = None,
        keep_running_after_failure: bool | None = None,
        window_start: str | None = None,
        window_end: str | None = None,
        time_zone: str | None = None,
        calendar_id: uuid.UUID | str | None = None,
    ) -> uuid.UUID:
        """Create a trigger that runs when `queue_name` holds `min_batch_size` NEW elements.

        A time window ("HH:MM" to "HH:MM" in `time_zone`) and a calendar (only on working
        days) limit when it may start; None for all of them: any time, as the original.

        Raises:
            ValueError: a field is missing, too long or mistyped; min_batch_size < 1; a
                bad window, zone or calendar.
        """
        trigger = QueueTrigger(
            queue_name=v.check_text(QueueTrigger, "queue_name", queue_name),
            min_batch_size=v.check_whole_number("min_batch_size", min_batch_size, minimum=1),
            window_start=window_start,
            window_end=window_end,
            time_zone=time_zone,
            calendar_id=calendar_id,
        )
        self._check_calendar_fields(trigger)
        self._fill_common(
            trigger,
            trigger_name,
            process_name,
            process_path,
            process_args,
            is_git_repo,
            is_blocking,
            priority,
            scheduler_whitelist,
            git_branch,
            keep_running_after_failure,
        )
        return self._add(trigger)

    @staticmethod
    def _fill_common(
        trigger: Trigger,
        trigger_name: Any,
        process_name: Any,
        process_path: Any,
        process_args: Any,
        is_git_repo: Any,
        is_blocking: Any,
        priority: Any,
        scheduler_whitelist: Any,
        git_branch: Any,
        keep_running_after_failure: Any = None,
    ) -> None:
        trigger.trigger_name = v.check_text(Trigger, "trigger_name", trigger_name)  # type: ignore[assignment]
        trigger.process_name = v.check_text(Trigger, "process_name", process_name)  # type: ignore[assignment]
        trigger.process_path = v.check_text(Trigger, "process_path", process_path)  # type: ignore[assignment]
        trigger.process_args = v.check_text(Trigger, "process_args", process_args, required=False)
        trigger.is_git_repo = v.check_bool("is_git_repo", is_git_repo)
        trigger.is_blocking = v.check_bool("is_blocking", is_blocking)
        # None is the column's default, as the original stored it.
        trigger.priority = v.check_whole_number("priority", priority, default=0)
        trigger.scheduler_whitelist = v.check_names(
            "scheduler_whitelist",
            scheduler_whitelist,
            v.column_length(Trigger, "scheduler_whitelist"),
        )
        branch = v.check_text(Trigger, "git_branch", git_branch, required=False)
        trigger.git_branch = branch if branch and branch.strip() else None
        keep = (
            None
            if keep_running_after_failure is None
            else v.check_bool("keep_running_after_failure", keep_running_after_failure)
        )
        # A Single trigger runs once: there is nothing to keep running.
        trigger.keep_running_after_failure = None if isinstance(trigger, SingleTrigger) else keep

    @staticmethod
    def _check_calendar_fields(trigger: Trigger) -> None:
        """Zone, calendar, rule and window of a scheduled or queue trigger, normalised in
        place (the calendar's existence is checked in the writing transaction)."""
        if isinstance(trigger, ScheduledTrigger):
            trigger.time_zone = sch.check_time_zone(trigger.time_zone)
            trigger.calendar_id = v.check_optional_uuid("calendar_id", trigger.calendar_id or None)
            rule = sch.check_rule(trigger.calendar_rule)
            if rule in (sch.CalendarRule.SKIP, sch.CalendarRule.MOVE) and not trigger.calendar_id:
                raise BadInput(f"calendar_rule {rule.name} needs a calendar (calendar_id).")
            if rule is None and trigger.calendar_id is not None:
                raise BadInput(
                    "calendar_rule is required with a calendar: SKIP, MOVE or WORKING_DAYS."
                )
            trigger.calendar_rule = None if rule is None else rule.name
        elif isinstance(trigger, QueueTrigger):
            trigger.time_zone = sch.check_time_zone(trigger.time_zone)
            trigger.calendar_id = v.check_optional_uuid("calendar_id", trigger.calendar_id or None)
            trigger.window_start = check_hhmm("window_start", trigger.window_start)
            trigger.window_end = check_hhmm("window_end", trigger.window_end)
            if trigger.window_start is not None and trigger.window_start == trigger.window_end:
                raise BadInput("The time window is empty: window_start equals window_end.")

    @staticmethod
    def _require_calendar_of(session: Session, trigger: Trigger) -> None:
        key = getattr(trigger, "calendar_id", None)
        if key is not None and session.get(Calendar, key) is None:
            raise NotFound(f"No calendar with id {key} exists.")

    def _add(self, trigger: Trigger) -> uuid.UUID:
        trigger.id = new_id()
        trigger.process_status = TriggerStatus.IDLE

        def work(session: Session) -> uuid.UUID:
            self._require_calendar_of(session, trigger)
            session.add(trigger)
            return trigger.id

        return self._write(work)

    # --- read ---------------------------------------------------------------------

    def get_trigger(self, trigger_id: uuid.UUID | str) -> Trigger:
        """The trigger with this id, as its subclass.

        Raises:
            ValueError: bad id, or no such trigger.
        """
        key = v.check_uuid("trigger_id", trigger_id)
        trigger = self._read(lambda session: session.get(Trigger, key))
        if trigger is None:
            raise NotFound(f"No trigger with id {key} exists.")
        return trigger

    def get_all_triggers(self) -> tuple[Trigger, ...]:
        """Every trigger, sorted by trigger name."""
        return self._read(
            lambda session: tuple(
                session.scalars(select(Trigger).order_by(Trigger.trigger_name, Trigger.id))
            )
        )

    def get_single_triggers(self) -> tuple[SingleTrigger, ...]:
        """Every single trigger."""
        return self._read(lambda session: tuple(session.scalars(select(SingleTrigger))))

    def get_scheduled_triggers(self) -> tuple[ScheduledTrigger, ...]:
        """Every scheduled trigger."""
        return self._read(lambda session: tuple(session.scalars(select(ScheduledTrigger))))

    def get_queue_triggers(self) -> tuple[QueueTrigger, ...]:
        """Every queue trigger."""
        return self._read(lambda session: tuple(session.scalars(select(QueueTrigger))))

    def get_pending_single_triggers(self, now: datetime | None = None) -> tuple[SingleTrigger, ...]:
        """IDLE single triggers whose time has come, oldest first."""
        moment = now or datetime.now()
        statement = (
            select(SingleTrigger)
            .where(
                SingleTrigger.process_status == TriggerStatus.IDLE,
                SingleTrigger.next_run <= moment,
            )
            .order_by(SingleTrigger.next_run)
        )
        return self._read(lambda session: tuple(session.scalars(statement)))

    def get_pending_scheduled_triggers(
        self, now: datetime | None = None
    ) -> tuple[ScheduledTrigger, ...]:
        """IDLE scheduled triggers whose next run has come, oldest first.

        A trigger with a zone or calendar whose `next_run` is not one of its run times
        (an original Scheduler recomputed it from the cron alone) is not due: its next
        run is corrected instead (`correct_next_runs`; docs/migrating.md).
        """
        moment = now or datetime.now()
        statement = (
            select(ScheduledTrigger)
            .where(
                ScheduledTrigger.process_status == TriggerStatus.IDLE,
                ScheduledTrigger.next_run <= moment,
            )
            .order_by(ScheduledTrigger.next_run)
        )

        def work(session: Session) -> tuple[tuple[ScheduledTrigger, ...], bool]:
            found = tuple(session.scalars(statement))
            wrong = {
                trigger.id
                for trigger in found
                if (trigger.time_zone or trigger.calendar_rule)
                and not self._is_run_time(session, trigger)
            }
            return tuple(t for t in found if t.id not in wrong), bool(wrong)

        due, corrected = self._read(work)
        if corrected:
            self.correct_next_runs(moment)  # type: ignore[attr-defined]
        return due

    @staticmethod
    def _is_run_time(session: Session, trigger: ScheduledTrigger) -> bool:
        schedule = build_schedule(
            session.connection(),
            trigger.cron_expr,
            trigger.time_zone,
            trigger.calendar_id,
            trigger.calendar_rule,
        )
        stored = trigger.next_run
        return schedule.is_legacy or sch.next_run(schedule, stored - timedelta(seconds=1)) == stored

    def get_pending_queue_triggers(self) -> tuple[QueueTrigger, ...]:
        """IDLE queue triggers whose queue holds at least `min_batch_size` claimable
        elements (NEW, and not deferred past now: a process started for elements it may
        not claim yet would find nothing to do).

        One query: the count is a correlated subquery served by the queue index.
        """
        now = datetime.now()
        new_count = (
            select(func.count())
            .select_from(QueueElement)
            .where(
                QueueElement.queue_name == QueueTrigger.queue_name,
                QueueElement.status == QueueStatus.NEW,
                or_(QueueElement.not_before.is_(None), QueueElement.not_before <= now),
            )
            .scalar_subquery()
        )
        statement = select(QueueTrigger).where(
            QueueTrigger.process_status == TriggerStatus.IDLE,
            new_count >= QueueTrigger.min_batch_size,
        )

        def work(session: Session) -> tuple[QueueTrigger, ...]:
            found = tuple(session.scalars(statement))
            # Time windows and working days (issue 28): decided in Python, per trigger.
            calendars = {t.calendar_id for t in found if t.calendar_id is not None}
            off = {key: days_off(session.connection(), key) for key in calendars}
            return tuple(
                trigger
                for trigger in found
                if queue_window_open(
                    trigger,
                    off.get(trigger.calendar_id, frozenset())
                    if trigger.calendar_id is not None
                    else frozenset(),
                    now,
                )
            )

        return self._read(work)

    # --- change -------------------------------------------------------------------

    def update_trigger(self, trigger: Trigger) -> None:
        """Save the fields of a (detached) trigger object read with `get_trigger`.

        The status is not written as it stands in the object: an object read before a
        Scheduler began the trigger must not set it back. A status the caller *changed*
        on the object (`t.process_status = TriggerStatus.PAUSED`, as scripts for
        OpenOrchestrator 3.0.0 do) is applied through the state machine in the same
        transaction, with the effect of the Orchestrator's button (IDLE: Enable, PAUSED:
        Disable, KILLING: Kill; see `state.request_trigger_status`), and the object then
        holds the status the trigger has. A changed `last_run` is saved as given.

        Raises:
            TransitionRefused: the changed status is not allowed now (Enable while the
                process runs) or is a run's to set (RUNNING, DONE, FAILED); nothing is
                written and the object is left as it was.
            ValueError: a field is invalid, the object was never created (no id: use
                `create_*_trigger`), or the trigger no longer exists.
        """
        requested = _changed(trigger, "process_status")
        new_last_run = _changed(trigger, "last_run")
        if trigger.id is None:
            raise BadInput(
                "update_trigger saves a trigger that exists; this object has no id (it "
                "was never created): use create_single_trigger, create_scheduled_trigger "
                "or create_queue_trigger."
            )
        self._check_trigger(trigger)
        key = v.check_uuid("trigger_id", trigger.id)
        wanted = (
            None
            if requested is _UNCHANGED
            else v.check_enum(TriggerStatus, "process_status", requested)
        )
        last_run = (
            _UNCHANGED
            if new_last_run is _UNCHANGED
            else v.check_datetime("last_run", new_last_run, required=False)
        )

        def work(session: Session) -> TriggerStatus:
            current = session.get(Trigger, key)
            if current is None:
                raise NotFound(f"No trigger with id {key} exists.")
            status = current.process_status
            # Unchanged here, so the merge leaves the column alone (no stale write).
            trigger.process_status = status
            trigger.last_run = current.last_run if last_run is _UNCHANGED else last_run
            self._require_calendar_of(session, trigger)
            session.merge(trigger)
            session.flush()
            if wanted is not None and wanted is not status:
                status = state.request_trigger_status(session.connection(), key, wanted)
            return status

        try:
            status = self._write(work)
        except Exception:
            # Refused or failed: nothing was written; leave the object as it was.
            if requested is not _UNCHANGED:
                trigger.process_status = requested
            if new_last_run is not _UNCHANGED:
                trigger.last_run = new_last_run
            raise
        # The object now matches the row (as the original's refresh left it): a later
        # change of its status is a new request.
        set_committed_value(trigger, "process_status", status)
        set_committed_value(trigger, "last_run", trigger.last_run)

    @classmethod
    def _check_trigger(cls, trigger: Trigger) -> None:
        """The creation checks, applied to an edited object (whitelist and branch
        normalised the same way; the status is `update_trigger`'s)."""
        cls._fill_common(
            trigger,
            trigger.trigger_name,
            trigger.process_name,
            trigger.process_path,
            trigger.process_args,
            trigger.is_git_repo,
            trigger.is_blocking,
            trigger.priority,
            None if trigger.scheduler_whitelist is None else trigger.whitelist,
            trigger.git_branch,
            trigger.keep_running_after_failure,
        )
        if isinstance(trigger, SingleTrigger):
            v.check_datetime("next_run", trigger.next_run)
        elif isinstance(trigger, ScheduledTrigger):
            v.check_text(ScheduledTrigger, "cron_expr", trigger.cron_expr)
            v.check_cron(trigger.cron_expr)
            v.check_datetime("next_run", trigger.next_run)
        elif isinstance(trigger, QueueTrigger):
            v.check_text(QueueTrigger, "queue_name", trigger.queue_name)
            trigger.min_batch_size = v.check_whole_number(
                "min_batch_size", trigger.min_batch_size, minimum=1
            )
        cls._check_calendar_fields(trigger)

    def delete_trigger(self, trigger_id: uuid.UUID | str) -> None:
        """Delete a trigger (both its rows).

        Raises:
            ValueError: bad id, or no such trigger.
        """
        key = v.check_uuid("trigger_id", trigger_id)

        def work(session: Session) -> None:
            trigger = session.get(Trigger, key)
            if trigger is None:
                raise NotFound(f"No trigger with id {key} exists.")
            session.delete(trigger)

        self._write(work)

    def set_trigger_status(self, trigger_id: uuid.UUID | str, status: TriggerStatus | str) -> None:
        """Set a trigger's status unconditionally: the original OpenOrchestrator's API,
        kept for scripts written against it. openorch's programs use the events below.

        Raises:
            ValueError: bad id or status, or no such trigger.
        """
        key = v.check_uuid("trigger_id", trigger_id)
        new_status = v.check_enum(TriggerStatus, "status", status)

        def work(connection: Connection) -> None:
            if not state.force_trigger_status(connection, key, new_status):
                raise NotFound(f"No trigger with id {key} exists.")

        self._write_core(work)

    def change_trigger_status(
        self,
        trigger_id: uuid.UUID | str,
        expected: Sequence[TriggerStatus],
        status: TriggerStatus | str,
    ) -> bool:
        """Set a trigger's status only if it is one of `expected`; True when it changed.

        One conditional UPDATE, so a Scheduler and an admin changing the same trigger at
        once cannot overwrite each other's decision. Only moves the state machine allows.

        Raises:
            ValueError: bad id or status, or a move no event allows.
        """
        key = v.check_uuid("trigger_id", trigger_id)
        new_status = v.check_enum(TriggerStatus, "status", status)
        sources = [v.check_enum(TriggerStatus, "expected", item) for item in expected]
        return self._write_core(
            lambda connection: state.move_trigger(connection, key, sources, new_status)
        )

    # --- what admins and processes ask (refusals are errors with a message) ---------

    def enable_trigger(self, trigger_id: uuid.UUID | str) -> TriggerStatus:
        """Enable: IDLE, ready to run when due (a PAUSING one keeps RUNNING).

        Raises:
            TransitionRefused: the trigger is RUNNING or KILLING.
            ValueError: bad id, or no such trigger.
        """
        return self._trigger_event(trigger_id, state.TriggerEvent.ENABLE)

    def disable_trigger(self, trigger_id: uuid.UUID | str) -> TriggerStatus:
        """Disable: a running trigger becomes PAUSING (PAUSED when its run ends), any
        other PAUSED.

        Raises:
            TransitionRefused: the trigger is being killed.
            ValueError: bad id, or no such trigger.
        """
        return self._trigger_event(trigger_id, state.TriggerEvent.DISABLE)

    def kill_trigger(self, trigger_id: uuid.UUID | str) -> TriggerStatus:
        """Kill: KILLING, so the Scheduler running it kills the whole process tree.

        Raises:
            TransitionRefused: the trigger is not running.
            ValueError: bad id, or no such trigger.
        """
        return self._trigger_event(trigger_id, state.TriggerEvent.KILL)

    def pause_trigger_from_process(self, trigger_id: uuid.UUID | str) -> TriggerStatus:
        """The SDK's pause_my_trigger: like Disable, asked by the running process.

        Raises:
            TransitionRefused: the trigger is being killed.
            ValueError: bad id, or no such trigger.
        """
        return self._trigger_event(trigger_id, state.TriggerEvent.PAUSE_SELF)

    def _trigger_event(
        self, trigger_id: uuid.UUID | str, event: state.TriggerEvent
    ) -> TriggerStatus:
        key = v.check_uuid("trigger_id", trigger_id)
        return self._write_core(
            lambda connection: state.require_trigger_change(connection, key, event)
        )

    # --- begin (atomic) -----------------------------------------------------------

    def begin_trigger(self, trigger_id: uuid.UUID | str, now: datetime | None = None) -> bool:
        """Move a trigger from IDLE to RUNNING and stamp `last_run`, for exactly one caller.

        A scheduled trigger's `next_run` becomes the next cron time after now in the
        same transaction (missed runs are not caught up). Returns False when another
        Scheduler (or an admin) changed the trigger first. Creates no job: Schedulers use
        `begin_trigger_run`; this is the original's API.
        """
        key = v.check_uuid("trigger_id", trigger_id)
        moment = now or datetime.now()
        return self._write_core(lambda connection: state.begin_trigger(connection, key, moment))

    def begin_trigger_run(
        self,
        trigger_id: uuid.UUID | str,
        scheduler_name: str,
        run_id: uuid.UUID | None,
        now: datetime | None = None,
    ) -> Job | None:
        """Begin a trigger and create its RUNNING job owned by `run_id`, in ONE transaction.

        Also records the trigger as the Scheduler's latest. A crash can leave either
        nothing or both (a RUNNING trigger always has its job, which the run's restart or
        the reaper ends). None when someone else began or changed the trigger first.
        Every way of starting a trigger (poll, "run now") goes through here.

        Raises:
            ValueError: bad id or name.
        """
        key = v.check_uuid("trigger_id", trigger_id)
        name = v.check_text(Job, "scheduler_name", scheduler_name)
        moment = now or datetime.now()

        def work(connection: Connection) -> Job | None:
            if not state.begin_trigger(connection, key, moment):
                return None
            trigger_name, process_name = connection.execute(
                select(_TRIGGERS.c.trigger_name, _TRIGGERS.c.process_name).where(
                    _TRIGGERS.c.id == key
                )
            ).one()
            job = Job(
                id=new_id(),
                process_name=process_name,
                scheduler_name=name,
                start_time=moment,
                end_time=None,
                status=JobStatus.RUNNING,
                trigger_id=key,
                run_id=run_id,
                pid=None,
                process_started=None,
            )
            connection.execute(
                insert(_JOBS).values({column: getattr(job, column) for column in _JOB_COLUMNS})
            )
            connection.execute(
                update(_SCHEDULERS)
                .where(_SCHEDULERS.c.machine_name == name)
                .values(latest_trigger=trigger_name[:100], latest_trigger_time=moment)
            )
            return job

        return self._write_core(work)

    def begin_single_trigger(self, trigger_id: uuid.UUID | str) -> bool:
        """`begin_trigger` for a single trigger (the original's name)."""
        return self.begin_trigger(trigger_id)

    def begin_scheduled_trigger(self, trigger_id: uuid.UUID | str) -> bool:
        """`begin_trigger` for a scheduled trigger (the original's name)."""
        return self.begin_trigger(trigger_id)

    def begin_queue_trigger(self, trigger_id: uuid.UUID | str) -> bool:
        """`begin_trigger` for a queue trigger (the original's name)."""
        return self.begin_trigger(trigger_id)

    # --- for the Scheduler's poll (one query each, whatever the number of triggers) ---

    def get_trigger_statuses(
        self, trigger_ids: Sequence[uuid.UUID | str]
    ) -> dict[uuid.UUID, TriggerStatus]:
        """The status of each of these triggers, in one query. Deleted ones are absent.

        Raises:
            ValueError: a bad id.
        """
        keys = [v.check_uuid("trigger_id", key) for key in trigger_ids]
        if not keys:
            return {}

        def work(session: Session) -> dict[uuid.UUID, TriggerStatus]:
            rows = session.execute(
                select(_TRIGGERS.c.id, _TRIGGERS.c.process_status).where(_TRIGGERS.c.id.in_(keys))
            )
            return {row[0]: row[1] for row in rows}

        return self._read(work)

    def get_next_run_time(self, after: datetime | None = None) -> datetime | None:
        """The earliest `next_run` after `after` of any IDLE single or scheduled trigger.

        Lets a Scheduler wake exactly when the next trigger falls due instead of waiting
        for its next poll. None when no such trigger exists.
        """
        moment = after or datetime.now()
        single = (
            select(func.min(SingleTrigger.next_run))
            .where(
                SingleTrigger.process_status == TriggerStatus.IDLE,
                SingleTrigger.next_run > moment,
            )
            .scalar_subquery()
        )
        scheduled = (
            select(func.min(ScheduledTrigger.next_run))
            .where(
                ScheduledTrigger.process_status == TriggerStatus.IDLE,
                ScheduledTrigger.next_run > moment,
            )
            .scalar_subquery()
        )

        def work(session: Session) -> datetime | None:
            first, second = session.execute(select(single, scheduled)).one()
            found = [value for value in (first, second) if value is not None]
            return min(found) if found else None

        return self._read(work)

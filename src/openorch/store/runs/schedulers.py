"""Scheduler runs and their liveness: registration, heartbeats, reaping, and the one
rule that says whether a Scheduler is alive.

One name, one Scheduler: a run records its host and pid, and a new run under a name
whose run is still alive (`run_holds_name`) is refused unless it replaces it on purpose;
the decision is one transaction with a conditional write, so of two Schedulers starting
at once under one name exactly one wins.

Every time here is the database's clock (`state.database_now`): heartbeats are written
with it and judged with it, so no robot's clock decides whether another robot is alive.
A robot's own clock is only measured (`clock_offset`) and shown.
"""

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, exc, insert, select, update
from sqlalchemy.orm import Session

from openorch.database import Job, JobStatus, Scheduler
from openorch.database.base import table_of
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput
from openorch.store.runs import state

_SCHEDULERS = table_of(Scheduler)
_JOBS = table_of(Job)

#: Builds the values of a Schedulers row inside the transaction that writes them.
ValuesOf = Callable[[Connection], dict[str, object]]

#: Seconds of silence after which a Scheduler counts as dead, when its row does not say
#: (rows written by the original OpenOrchestrator, or before openorch recorded it).
DEFAULT_HEARTBEAT_TIMEOUT = 120.0

#: A clock offset from the database larger than this is worth showing an admin (seconds).
CLOCK_OFFSET_WORTH_SHOWING = 30.0

#: The engine state a run writes as it leaves: such a run holds its name no longer.
STOPPED_STATE = "stopped"

#: How often a registration that lost a race to another is decided again.
REGISTRATION_ATTEMPTS = 5


#: The engine state a Scheduler writes as it leaves cleanly.
STOPPED = "stopped"


def is_alive(
    last_update: datetime | None,
    heartbeat_timeout: float | None,
    database_now: datetime,
    default_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
    engine_state: str | None = None,
) -> bool:
    """THE liveness rule, used by every reaper, the Orchestrator's Schedulers tab and
    Overview, and the HTTP API: alive while the last heartbeat (database clock) is no
    older than the Scheduler's own declared timeout (`default_timeout` for rows that
    declare none), and not when it said it stopped (`engine_state`; reapers leave it
    out, so a stopped run is still only reaped after its timeout)."""
    if last_update is None or engine_state == STOPPED:
        return False
    timeout = heartbeat_timeout if heartbeat_timeout is not None else default_timeout
    return database_now - last_update <= timedelta(seconds=timeout)


@dataclass(frozen=True)
class RunIdentity:
    """Where a run is: its machine's host name (at most 255 characters, the column's
    size) and its process id there."""

    host: str
    pid: int


def _everything_runs(_pid: int) -> bool:
    """Without a way to look at processes, a pid on this host counts as running."""
    return True


def run_holds_name(
    run_id: uuid.UUID | None,
    engine_state: str | None,
    host: str | None,
    pid: int | None,
    last_update: datetime | None,
    heartbeat_timeout: float | None,
    database_now: datetime,
    here: RunIdentity | None,
    pid_running: Callable[[int], bool] = _everything_runs,
    default_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
) -> bool:
    """Whether the run a Schedulers row names still holds that name, seen from `here`.

    No run (rows of the original, or a run a reaper declared dead) or a run that stopped:
    free. A stale heartbeat (`is_alive`, the reapers' rule): dead wherever it runs. On
    the same host the pid decides at once: gone (`pid_running` false) is dead, and so is
    this very process's own pid (an earlier run of this process, which runs one
    Scheduler per name at a time). Otherwise (another host, or none recorded) the fresh
    heartbeat says it is alive.
    """
    if run_id is None or engine_state == STOPPED_STATE:
        return False
    if not is_alive(last_update, heartbeat_timeout, database_now, default_timeout):
        return False
    if here is not None and host == here.host and pid is not None:
        return pid != here.pid and pid_running(pid)
    return True


@dataclass(frozen=True)
class RunHolder:
    """The run recorded as the owner of a Scheduler name, judged by `run_holds_name`."""

    machine_name: str
    run_id: uuid.UUID
    host: str | None
    pid: int | None
    alive: bool
    #: Its own heartbeat timeout (seconds; the default for rows that declare none).
    heartbeat_timeout: float
    #: Seconds since its last heartbeat, by the database's clock.
    silent_for: float | None

    def where(self) -> str:
        """Where the run is, as an admin needs it to find it: machine 'X', pid N."""
        host = f"machine '{self.host}'" if self.host else "an unknown machine"
        return f"{host}, pid {self.pid}" if self.pid is not None else host


@dataclass(frozen=True)
class Registration:
    """What `register_run` decided."""

    #: The run that holds the name and made this one be refused (None: registered).
    refused_by: RunHolder | None = None
    #: The run this one took the name from (None: the name was free or new). Its
    #: `alive` says it was replaced while alive (`replace=True`).
    previous: RunHolder | None = None
    #: RUNNING jobs of earlier runs that are gone, to clean up now (`end_leftover_jobs`).
    leftovers: "tuple[LeftoverJob, ...]" = ()
    #: RUNNING jobs of the replaced live run: their triggers were set to KILLING, as a
    #: kill from the Orchestrator does, for that run to kill and record.
    handed_over: "tuple[LeftoverJob, ...]" = ()

    @property
    def registered(self) -> bool:
        """True when the run owns the name now."""
        return self.refused_by is None


class HeartbeatResult(enum.Enum):
    """What a run learns from its heartbeat."""

    ALIVE = "alive"  #: recorded; the run still owns its name
    REAPED = "reaped"  #: another Scheduler declared this run dead and failed its jobs
    SUPERSEDED = "superseded"  #: another run registered under this name since


@dataclass(frozen=True)
class LeftoverJob:
    """A RUNNING job a previous run under this name left behind."""

    job_id: uuid.UUID
    process_name: str
    trigger_id: uuid.UUID | None
    pid: int | None
    process_started: float | None
    #: The run that started it (None: written by an older openorch).
    run_id: uuid.UUID | None = None


@dataclass(frozen=True)
class SchedulerHealth:
    """A Scheduler as the liveness rule sees it now (what the Schedulers tab shows)."""

    scheduler: Scheduler
    alive: bool
    #: Seconds since its last heartbeat, by the database's clock.
    silent_for: float | None
    #: Its clock minus the database's (seconds), when it is over 30 s; else None.
    notable_clock_offset: float | None


def _offset_seconds(before: datetime, after: datetime, database_now: datetime) -> float:
    """The robot's clock minus the database's, with the robot's reading taken mid-way."""
    middle = before + (after - before) / 2
    return round((middle - database_now).total_seconds(), 3)


def scheduler_health(
    session: Session, default_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT
) -> tuple[SchedulerHealth, ...]:
    """Every Scheduler judged by `is_alive` against the database's clock, in the caller's
    session (the Schedulers tab and the Overview read it this one way)."""
    now = state.database_now(session.connection())
    rows = session.scalars(select(Scheduler).order_by(Scheduler.machine_name))
    found = []
    for row in rows:
        offset = row.clock_offset
        found.append(
            SchedulerHealth(
                scheduler=row,
                alive=is_alive(
                    row.last_update, row.heartbeat_timeout, now, default_timeout, row.engine_state
                ),
                silent_for=(now - row.last_update).total_seconds()
                if row.last_update is not None
                else None,
                notable_clock_offset=offset
                if offset is not None and abs(offset) > CLOCK_OFFSET_WORTH_SHOWING
                else None,
            )
        )
    return tuple(found)


class SchedulerStore(StoreCore):
    """The Schedulers table: who is alive, which run owns each name, what it started."""

    @property
    def _clock_offsets(self) -> dict[str, float]:
        """The clock offset each heartbeat measured, per Scheduler name, written by the
        next. Made on first use, not in `__init__`: this mixin is loaded on first use
        (store/features.py), so a `Store` may exist before it joins the class."""
        offsets: dict[str, float] = self.__dict__.setdefault("_scheduler_clock_offsets", {})
        return offsets

    def get_schedulers(self) -> tuple[Scheduler, ...]:
        """Every Scheduler that ever sent a heartbeat, sorted by machine name."""
        return self._read(
            lambda session: tuple(
                session.scalars(select(Scheduler).order_by(Scheduler.machine_name))
            )
        )

    def get_scheduler_health(
        self, default_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT
    ) -> tuple[SchedulerHealth, ...]:
        """Every Scheduler judged by `is_alive` against the database's clock, sorted by
        name; clock offsets over 30 s are reported."""
        return self._read(lambda session: scheduler_health(session, default_timeout))

    # --- the original's API -----------------------------------------------------------

    def send_ping_from_scheduler(self, machine_name: str) -> None:
        """Record a heartbeat now, by the database's clock (insert the row the first time).

        Raises:
            ValueError: bad machine name.
        """
        name = v.check_text(Scheduler, "machine_name", machine_name) or ""
        self._upsert(name, lambda connection: {"last_update": state.database_now(connection)})

    def start_trigger_from_machine(self, machine_name: str, trigger_name: str) -> None:
        """Record that `machine_name` started `trigger_name` now.

        Raises:
            ValueError: bad names.
        """
        name = v.check_text(Scheduler, "machine_name", machine_name) or ""
        # None is stored as NULL (no trigger name), as the original stored it.
        latest = v.check_text(
            Scheduler, "latest_trigger", trigger_name, label="trigger_name", required=False
        )

        def values(connection: Connection) -> dict[str, object]:
            moment = state.database_now(connection)
            return {
                "last_update": moment,
                "latest_trigger": latest,
                "latest_trigger_time": datetime.now(),
            }

        self._upsert(name, values)

    # --- runs ---------------------------------------------------------------------------

    def register_run(
        self,
        machine_name: str,
        run_id: uuid.UUID,
        heartbeat_timeout: float,
        engine_state: str,
        *,
        here: RunIdentity | None = None,
        pid_running: Callable[[int], bool] = _everything_runs,
        replace: bool = False,
    ) -> Registration:
        """Make `run_id` the owner of `machine_name` (its first heartbeat) unless the run
        that holds the name is alive (`run_holds_name`, seen from `here`, with
        `pid_running` to look at this host's processes): then nothing changes and the
        result names that run. `replace` takes the name from a live run too, and sets
        the triggers of its RUNNING jobs to KILLING in the same transaction.

        One transaction: read, decide, then a write conditional on the row being as
        read (the same run, still silent), so of two registrations at once exactly one
        wins and the other decides again against the winner.

        Raises:
            ValueError: bad name or timeout.
        """
        name = v.check_text(Scheduler, "machine_name", machine_name) or ""
        if heartbeat_timeout <= 0:
            raise BadInput("The heartbeat timeout must be positive.")
        identity = (
            {"run_host": here.host, "run_pid": here.pid}
            if here is not None
            else {"run_host": None, "run_pid": None}
        )

        def work(connection: Connection) -> Registration | None:
            before = datetime.now()
            moment = state.database_now(connection)
            after = datetime.now()
            row = connection.execute(_holder_row(name)).first()
            holder = None
            if row is not None and row.run_id is not None:
                holder = _holder(name, row, moment, here, pid_running)
                if holder.alive and not replace:
                    return Registration(refused_by=holder)
            offset = _offset_seconds(before, after, moment)
            values = {
                "last_update": moment,
                "run_id": run_id,
                "run_started": moment,
                "heartbeat_timeout": float(heartbeat_timeout),
                "clock_offset": offset,
                "engine_state": engine_state[:20],
                **identity,
            }
            if row is None:
                connection.execute(insert(_SCHEDULERS).values(machine_name=name, **values))
            else:
                as_read = [
                    _SCHEDULERS.c.machine_name == name,
                    _SCHEDULERS.c.run_id.is_(None)
                    if row.run_id is None
                    else _SCHEDULERS.c.run_id == row.run_id,
                ]
                if holder is not None and not holder.alive and not replace:
                    # Judged dead: only while it still is (a heartbeat racing in wins).
                    still = _still_dead(row, moment, here)
                    if still is not None:
                        as_read.append(still)
                written = connection.execute(
                    update(_SCHEDULERS).where(*as_read).values(**values)
                ).rowcount
                if written != 1:
                    return None  # another registration or a heartbeat came first
            self._clock_offsets[name] = offset
            handed_over: tuple[LeftoverJob, ...] = ()
            if holder is not None and holder.alive:
                handed_over = _running_jobs(connection, name, _JOBS.c.run_id == holder.run_id)
                for job in handed_over:
                    if job.trigger_id is not None:
                        state.change_trigger(connection, job.trigger_id, state.TriggerEvent.KILL)
            others = (_JOBS.c.run_id != run_id) | _JOBS.c.run_id.is_(None)
            if holder is not None and holder.alive:
                others = others & (_JOBS.c.run_id.is_(None) | (_JOBS.c.run_id != holder.run_id))
            return Registration(
                previous=holder,
                leftovers=_running_jobs(connection, name, others),
                handed_over=handed_over,
            )

        for _ in range(REGISTRATION_ATTEMPTS):
            try:
                decided = self._write_core(work)
            except exc.IntegrityError:
                continue  # another Scheduler inserted the row first: decide again
            if decided is not None:
                return decided
        raise exc.OperationalError(
            "registering a Scheduler run",
            None,
            Exception(f"the Schedulers row of '{name}' kept changing while registering"),
        )

    def get_run_holder(
        self,
        machine_name: str,
        here: RunIdentity | None = None,
        pid_running: Callable[[int], bool] = _everything_runs,
    ) -> RunHolder | None:
        """The run recorded as holding `machine_name`, judged from `here` (None: no run
        holds it). A snapshot for messages; `register_run` decides again when it writes.
        """
        name = v.check_text(Scheduler, "machine_name", machine_name) or ""

        def read(session: Session) -> RunHolder | None:
            connection = session.connection()
            moment = state.database_now(connection)
            row = connection.execute(_holder_row(name)).first()
            if row is None or row.run_id is None:
                return None
            return _holder(name, row, moment, here, pid_running)

        return self._read(read)

    def get_leftover_jobs(self, machine_name: str, run_id: uuid.UUID) -> tuple[LeftoverJob, ...]:
        """RUNNING jobs under `machine_name` that another run than `run_id` started."""
        name = v.check_text(Scheduler, "machine_name", machine_name) or ""
        others = (_JOBS.c.run_id != run_id) | _JOBS.c.run_id.is_(None)
        with self.engine.connect() as connection:
            return _running_jobs(connection, name, others)

    def end_leftover_jobs(self, messages: dict[uuid.UUID, str]) -> tuple[uuid.UUID, ...]:
        """End each leftover job FAILED with its message as an ERROR log; their triggers
        move as after any failure. One transaction per job; returns the jobs ended here
        (a reaper may have ended some first)."""
        ended = []
        for job_id, message in messages.items():

            def work(connection: Connection, key: uuid.UUID = job_id, text: str = message) -> bool:
                return state.end_job(connection, key, JobStatus.FAILED, text)

            if self._write_core(work):
                ended.append(job_id)
        return tuple(ended)

    def heartbeat(self, machine_name: str, run_id: uuid.UUID, engine_state: str) -> HeartbeatResult:
        """Record that run `run_id` is alive, by the database's clock, with its state and
        its clock offset. Tells the run when it no longer owns its name.

        Raises:
            ValueError: bad name.
        """
        name = v.check_text(Scheduler, "machine_name", machine_name) or ""

        def work(connection: Connection) -> HeartbeatResult:
            # One statement: the database's clock goes in and comes back (RETURNING), so
            # the offset measured now is written with the next heartbeat.
            clock = state.database_now_expression(connection)
            before = datetime.now()
            row = connection.execute(
                update(_SCHEDULERS)
                .where(_SCHEDULERS.c.machine_name == name, _SCHEDULERS.c.run_id == run_id)
                .values(
                    last_update=before if clock is None else clock,
                    clock_offset=self._clock_offsets.get(name),
                    engine_state=engine_state[:20],
                )
                .returning(_SCHEDULERS.c.last_update)
            ).first()
            after = datetime.now()
            if row is not None:
                moment = row[0].replace(tzinfo=None) if clock is not None else before
                self._clock_offsets[name] = _offset_seconds(before, after, moment)
                return HeartbeatResult.ALIVE
            owner = connection.execute(
                select(_SCHEDULERS.c.run_id).where(_SCHEDULERS.c.machine_name == name)
            ).scalar()
            return HeartbeatResult.REAPED if owner is None else HeartbeatResult.SUPERSEDED

        return self._write_single(work)

    def set_engine_state(self, machine_name: str, run_id: uuid.UUID, engine_state: str) -> None:
        """Record the run's state (e.g. 'stopped' as it leaves), if it still owns the name."""
        name = v.check_text(Scheduler, "machine_name", machine_name) or ""
        self._write_single(
            lambda connection: connection.execute(
                update(_SCHEDULERS)
                .where(_SCHEDULERS.c.machine_name == name, _SCHEDULERS.c.run_id == run_id)
                .values(engine_state=engine_state[:20])
            )
        )

    # --- reaping ------------------------------------------------------------------------

    def fail_jobs_of_dead_schedulers(
        self, timeout: timedelta = timedelta(seconds=DEFAULT_HEARTBEAT_TIMEOUT)
    ) -> tuple[Job, ...]:
        """End FAILED the RUNNING jobs of every Scheduler that `is_alive` calls dead.

        A Scheduler's own declared timeout decides; `timeout` only for rows that declare
        none. Its run loses its name (`run_id` cleared, conditionally on the heartbeat
        still being stale, so a heartbeat racing in wins), which the run, if it was in
        fact alive, learns on its next heartbeat. Each job ends through the state machine
        (trigger as after any failure, an ERROR log saying why). Returns the jobs ended.
        """
        default = timeout.total_seconds()

        def work(session: Session) -> tuple[Job, ...]:
            connection = session.connection()
            now = state.database_now(connection)
            rows = connection.execute(
                select(
                    _SCHEDULERS.c.machine_name,
                    _SCHEDULERS.c.last_update,
                    _SCHEDULERS.c.heartbeat_timeout,
                    _SCHEDULERS.c.run_id,
                )
            ).all()
            ended: list[Job] = []
            for name, last_update, declared, run_id in rows:
                if is_alive(last_update, declared, now, default):
                    continue
                seconds = declared if declared is not None else default
                jobs = session.scalars(
                    select(Job).where(Job.status == JobStatus.RUNNING, Job.scheduler_name == name)
                ).all()
                if not jobs:
                    continue
                cutoff = now - timedelta(seconds=seconds)
                owner = (
                    _SCHEDULERS.c.run_id.is_(None)
                    if run_id is None
                    else _SCHEDULERS.c.run_id == run_id
                )
                claimed = connection.execute(
                    update(_SCHEDULERS)
                    .where(
                        _SCHEDULERS.c.machine_name == name,
                        owner,
                        _SCHEDULERS.c.last_update < cutoff,
                    )
                    .values(run_id=None)
                )
                if claimed.rowcount != 1:
                    continue  # a heartbeat came in meanwhile
                message = (
                    f"Scheduler '{name}' stopped sending heartbeats (none for over "
                    f"{seconds:g} s by the database's clock) while this job ran; the job "
                    "was marked FAILED and its trigger treated as after any failure. "
                    "Check that machine."
                )
                for job in jobs:
                    if state.end_job(connection, job.id, JobStatus.FAILED, message, when=now):
                        job.status = JobStatus.FAILED
                        job.end_time = now
                        ended.append(job)
            session.expunge_all()
            return tuple(ended)

        return self._write(work)

    # --- helpers ------------------------------------------------------------------------

    def _upsert(self, name: str, values_of: ValuesOf) -> None:
        def work(connection: Connection) -> None:
            values = values_of(connection)
            result = connection.execute(
                update(_SCHEDULERS).where(_SCHEDULERS.c.machine_name == name).values(**values)
            )
            if result.rowcount == 0:
                connection.execute(insert(_SCHEDULERS).values(machine_name=name, **values))

        try:
            self._write_core(work)
        except exc.IntegrityError:
            # Two processes with one machine name inserted at once: the row exists now.
            self._write_core(work)


def _holder_row(name: str) -> Any:
    """The columns of a Schedulers row that say which run holds the name (`_holder`)."""
    return select(
        _SCHEDULERS.c.run_id,
        _SCHEDULERS.c.engine_state,
        _SCHEDULERS.c.run_host,
        _SCHEDULERS.c.run_pid,
        _SCHEDULERS.c.last_update,
        _SCHEDULERS.c.heartbeat_timeout,
    ).where(_SCHEDULERS.c.machine_name == name)


def _holder(
    name: str,
    row: Any,
    moment: datetime,
    here: RunIdentity | None,
    pid_running: Callable[[int], bool],
) -> RunHolder:
    """The run a Schedulers row (run_id, engine_state, run_host, run_pid, last_update,
    heartbeat_timeout) names, judged now."""
    return RunHolder(
        machine_name=name,
        run_id=row.run_id,
        host=row.run_host,
        pid=row.run_pid,
        alive=run_holds_name(
            row.run_id,
            row.engine_state,
            row.run_host,
            row.run_pid,
            row.last_update,
            row.heartbeat_timeout,
            moment,
            here,
            pid_running,
        ),
        heartbeat_timeout=row.heartbeat_timeout
        if row.heartbeat_timeout is not None
        else DEFAULT_HEARTBEAT_TIMEOUT,
        silent_for=(moment - row.last_update).total_seconds()
        if row.last_update is not None
        else None,
    )


def _still_dead(row: Any, moment: datetime, here: RunIdentity | None) -> Any:
    """The condition under which a run judged dead from its row still is, at write time:
    stopped stays stopped, a gone pid stays gone; a stale heartbeat must still be stale
    (None: nothing more to check)."""
    if row.engine_state == STOPPED_STATE:
        return _SCHEDULERS.c.engine_state == STOPPED_STATE
    same_host = here is not None and row.run_host == here.host and row.run_pid is not None
    timeout = (
        row.heartbeat_timeout if row.heartbeat_timeout is not None else DEFAULT_HEARTBEAT_TIMEOUT
    )
    if same_host and is_alive(row.last_update, row.heartbeat_timeout, moment):
        return None  # dead by its pid, which does not come back
    return _SCHEDULERS.c.last_update < moment - timedelta(seconds=timeout)


def _running_jobs(connection: Connection, name: str, which: Any) -> tuple[LeftoverJob, ...]:
    """RUNNING jobs under Scheduler `name` that match `which`, as LeftoverJobs."""
    statement = select(
        _JOBS.c.id,
        _JOBS.c.process_name,
        _JOBS.c.trigger_id,
        _JOBS.c.pid,
        _JOBS.c.process_started,
        _JOBS.c.run_id,
    ).where(_JOBS.c.status == JobStatus.RUNNING, _JOBS.c.scheduler_name == name, which)
    return tuple(LeftoverJob(*row) for row in connection.execute(statement))

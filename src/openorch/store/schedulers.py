"""Scheduler runs and their liveness: registration, heartbeats, reaping, and the one
rule that says whether a Scheduler is alive.

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
from openorch.store import state
from openorch.store import validation as v
from openorch.store.core import StoreCore

_SCHEDULERS = table_of(Scheduler)
_JOBS = table_of(Job)

#: Builds the values of a Schedulers row inside the transaction that writes them.
ValuesOf = Callable[[Connection], dict[str, object]]

#: Seconds of silence after which a Scheduler counts as dead, when its row does not say
#: (rows written by the original OpenOrchestrator, or before openorch recorded it).
DEFAULT_HEARTBEAT_TIMEOUT = 120.0

#: A clock offset from the database larger than this is worth showing an admin (seconds).
CLOCK_OFFSET_WORTH_SHOWING = 30.0


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

    #: The clock offset each heartbeat measured, per Scheduler name, written by the next.
    _clock_offsets: dict[str, float]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock_offsets = {}

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
    ) -> tuple[LeftoverJob, ...]:
        """Make `run_id` the owner of `machine_name` (its first heartbeat), and return the
        RUNNING jobs earlier runs under this name left behind (to end with
        `end_leftover_jobs` once their processes are dealt with).

        Raises:
            ValueError: bad name or timeout.
        """
        name = v.check_text(Scheduler, "machine_name", machine_name) or ""
        if heartbeat_timeout <= 0:
            raise ValueError("The heartbeat timeout must be positive.")

        def values(connection: Connection) -> dict[str, object]:
            before = datetime.now()
            moment = state.database_now(connection)
            after = datetime.now()
            self._clock_offsets[name] = _offset_seconds(before, after, moment)
            return {
                "last_update": moment,
                "run_id": run_id,
                "run_started": moment,
                "heartbeat_timeout": float(heartbeat_timeout),
                "clock_offset": _offset_seconds(before, after, moment),
                "engine_state": engine_state[:20],
            }

        self._upsert(name, values)
        statement = select(
            _JOBS.c.id,
            _JOBS.c.process_name,
            _JOBS.c.trigger_id,
            _JOBS.c.pid,
            _JOBS.c.process_started,
        ).where(
            _JOBS.c.status == JobStatus.RUNNING,
            _JOBS.c.scheduler_name == name,
            (_JOBS.c.run_id != run_id) | _JOBS.c.run_id.is_(None),
        )
        with self.engine.connect() as connection:
            return tuple(LeftoverJob(*row) for row in connection.execute(statement))

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

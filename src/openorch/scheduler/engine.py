"""The Scheduler engine: one poll, the run loop, pause/resume and stopping.

It knows nothing of Tk or terminals: it reports through an `output` callback, and its
control methods (`pause`, `resume`, `stop`) are safe to call from another thread (the
Tk main loop, a signal handler). Only the thread inside `run()` (or a test calling
`poll()`) touches processes and the database.

A database outage never loses an outcome: every outcome (job, trigger and log line, one
transaction through the data layer's state machine) is kept in memory and replayed until
it has reached the database.

Each run registers under the Scheduler's name with a fresh run id, ends what an earlier
run under that name left RUNNING, and sends heartbeats from its own thread, so a slow
clone or kill never makes it look dead. One name, one Scheduler: a run refuses to start
while the name's run is alive (`refused_by`), unless started to replace it. A run that
learns from a heartbeat that it was declared dead stops its processes and registers
again; one whose name another run took kills its processes (KILLED) and stops.
"""

import collections
import contextlib
import enum
import subprocess
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import exc

from openorch.alerts.watchdog import Watchdog
from openorch.database import (
    JobStatus,
    LogLevel,
    RunRequest,
    Trigger,
    TriggerStatus,
)
from openorch.masking import for_terminal
from openorch.private_files import private_dir
from openorch.scheduler import launcher
from openorch.scheduler.config import SchedulerSettings, this_run
from openorch.scheduler.launcher import Launched, LaunchError
from openorch.scheduler.process_tree import is_running, kill_recognised, kill_tree, start_time
from openorch.scheduler.selection import select_and_begin
from openorch.store import Store, describe_connection_error
from openorch.store.errors import StoreError
from openorch.store.runs.failures import exit_message
from openorch.store.runs.schedulers import HeartbeatResult, LeftoverJob, RunHolder

#: Errors that mean "the database is not answering" rather than a bug.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (exc.SQLAlchemyError, OSError)

# StoreError (NotFound, Duplicate: SQLAlchemy errors too, for the original's `except`
# clauses) is caught before DATABASE_ERRORS wherever an outage is handled.

#: While the database is down, repeat the "unreachable" message this often (seconds).
OUTAGE_REPEAT = 60.0

#: While stopping with processes running, poll at least this often (seconds).
STOPPING_POLL = 0.5

#: How long to wait for a killed process to be gone (seconds).
KILL_WAIT = 10.0

#: Shortest sleep between polls, so a trigger due "now" cannot make the loop spin.
MIN_WAIT = 0.02

#: Heartbeats per heartbeat timeout: several may be lost before the run counts as dead.
HEARTBEATS_PER_TIMEOUT = 12

#: Longest pause between two heartbeats (seconds).
MAX_HEARTBEAT_INTERVAL = 10.0


#: After `--replace`, how long past the replaced run's heartbeat timeout its jobs may
#: still be RUNNING before this run ends them itself (seconds: its kill and report; at
#: most its timeout again).
REPLACE_MARGIN = KILL_WAIT / 2


def name_in_use(
    holder: RunHolder,
    how: str = "start with --replace",
    other: str = "choose another name with --name",
) -> str:
    """Why a Scheduler does not start: who holds its name, and the two ways on."""
    silent = f" (last heartbeat {holder.silent_for:.1f} s ago)" if holder.silent_for else ""
    return (
        f"The name '{holder.machine_name}' is held by a running Scheduler on "
        f"{holder.where()}{silent}, so this one does not start: each Scheduler needs its "
        f"own name. To take the name over on purpose, {how} (that Scheduler's processes "
        f"are killed as by a kill from the Orchestrator, and it stops); or {other}."
    )


def heartbeat_interval(heartbeat_timeout: float) -> float:
    """Seconds between heartbeats for a timeout: a twelfth of it, at most 10 s."""
    return max(0.05, min(MAX_HEARTBEAT_INTERVAL, heartbeat_timeout / HEARTBEATS_PER_TIMEOUT))


class RunState(enum.Enum):
    """Where the engine stands: the one value the Tk window, the headless output and the
    Orchestrator's Schedulers tab (through the heartbeat) all show."""

    STOPPED = "stopped"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"


@dataclass
class RunningJob:
    """A process this Scheduler started and still watches."""

    job_id: uuid.UUID
    trigger_id: uuid.UUID
    trigger_name: str
    process_name: str
    is_blocking: bool
    launched: Launched
    started_at: float = field(default_factory=time.monotonic)
    #: When the process ended, set by its watcher thread the moment it exits: the job's
    #: end time is then the process's, not that of the poll that noticed it.
    ended_at: datetime | None = None

    @property
    def pid(self) -> int:
        """The process id of the script's interpreter."""
        return self.launched.popen.pid


@dataclass
class Outcome:
    """What must reach the database about one job: one call, replayed until it has."""

    description: str
    record: Callable[[], object]


class SchedulerEngine:
    """Polls the database, starts processes, watches them and reports their outcome.

    Built from settings and an optional `Store` (the caller keeps ownership of a store
    it passes; the engine closes one it made). `paused=True` starts it without taking
    work (it still sends heartbeats and watches processes). `replace=True` takes the
    name even from a live Scheduler (its first registration only).
    """

    def __init__(
        self,
        settings: SchedulerSettings,
        store: Store | None = None,
        output: Callable[[str], None] | None = None,
        *,
        paused: bool = False,
        replace: bool = False,
    ) -> None:
        self.settings = settings
        self._owns_store = store is None
        self.store = store or Store(settings.conn_string, crypto_key=settings.crypto_key)
        show = output or (lambda line: print(line, flush=True))
        # Every line is masked (git URLs with tokens, connection strings) and its control
        # characters escaped (a trigger name must not drive the admin's terminal).
        self._output: Callable[[str], None] = lambda line: show(for_terminal(line))
        # Re-entrant: a second signal can arrive while the first handler holds it.
        self._lock = threading.RLock()
        # Lines from other threads and signal handlers, printed by the loop's thread:
        # printing inside a signal handler can collide with a print in progress.
        self._notes: collections.deque[str] = collections.deque()
        self._wake = threading.Event()
        self._paused = paused
        self._stopping = False
        self._deadline: float | None = None
        # Why processes still running at the deadline are killed (said in their log).
        self._kill_reason = "the Scheduler was stopping and its grace period ran out"
        self._state = RunState.STOPPED
        self._jobs: dict[uuid.UUID, RunningJob] = {}
        self._outcomes: list[Outcome] = []
        self._database_down_since: float | None = None
        self._last_outage_message = 0.0
        self._last_reap = float("-inf")
        self._next_due: float | None = None
        #: This run's id; None until registered (and again after losing the name).
        self._run_id: uuid.UUID | None = None
        self._heartbeat_thread: threading.Thread | None = None
        self._heartbeat_stop = threading.Event()
        #: Set to send a heartbeat now (the state changed), not at the next interval.
        self._heartbeat_now = threading.Event()
        #: Set by the heartbeat thread when this run no longer owns its name.
        self._lost: HeartbeatResult | None = None
        #: True once another run took the name: this one never registers again.
        self._retired = False
        #: Take the name from a live run at the next registration (`--replace`).
        self._replace = replace
        #: Where this run is (host, pid), recorded with the name.
        self._here = this_run()
        #: The live run that holds the name, when registering was refused.
        self.refused_by: RunHolder | None = None
        #: After replacing a live run: when to end what it still left RUNNING, and
        #: whether its processes are on this host.
        self._sweep: tuple[float, RunHolder] | None = None
        #: True during run()'s first registration, whose refusal run()'s caller reports.
        self._starting = False

    # --- control, from any thread -------------------------------------------------

    @property
    def state(self) -> RunState:
        """Stopped, running, paused or stopping."""
        if self._state is RunState.STOPPED:
            return RunState.STOPPED
        if self._stopping:
            return RunState.STOPPING
        return RunState.PAUSED if self._paused else RunState.RUNNING

    @property
    def run_id(self) -> uuid.UUID | None:
        """The id this run registered with (None before it has)."""
        return self._run_id

    @property
    def running_jobs(self) -> list[RunningJob]:
        """The processes still running (a snapshot)."""
        return list(self._jobs.values())

    @property
    def unreported(self) -> int:
        """How many outcomes are waiting for the database to come back."""
        return len(self._outcomes)

    @property
    def database_ok(self) -> bool:
        """False while the last database call of a poll failed."""
        return self._database_down_since is None

    def pause(self) -> None:
        """Stop taking new work; running processes are still watched and reported."""
        if not self._paused:
            self._paused = True
            self._heartbeat_now.set()
            self._notify("Paused: no new work is taken; running processes are still watched.")

    def resume(self) -> None:
        """Take new work again (at once, not at the next poll)."""
        if self._paused:
            self._paused = False
            self._heartbeat_now.set()
            self._notify("Running: polling for triggers.")

    def stop(self, grace_period: float | None = None) -> None:
        """Stop taking work, wait for running processes, then leave `run()`.

        Processes still running after `grace_period` seconds (default: the setting) are
        killed and marked KILLED. Calling again with a shorter grace (0: now) shortens it.
        """
        grace = self.settings.grace_period if grace_period is None else max(0.0, grace_period)
        with self._lock:
            deadline = time.monotonic() + grace
            first = not self._stopping
            self._stopping = True
            self._heartbeat_now.set()
            if self._deadline is None or deadline < self._deadline:
                self._deadline = deadline
                self._kill_reason = (
                    "the Scheduler was told to stop at once (a second stop signal, or its "
                    "window was closed)"
                    if grace == 0
                    else f"the Scheduler was stopping and its grace period of {grace:g} s ran out"
                )
        count = len(self._jobs)
        if first and count:
            self._notify(
                f"Stopping: waiting up to {grace:g} s for {count} running process(es), then "
                "killing them."
            )
        elif first:
            self._notify("Stopping.")
        elif count:
            self._notify(f"Stopping now: killing {count} running process(es).")
        else:
            self._wake.set()

    def notify(self, message: str) -> None:
        """Report a line from another thread or a signal handler (printed by the loop)."""
        self._notify(message)

    def _notify(self, message: str) -> None:
        self._notes.append(f"{datetime.now():%H:%M:%S} {message}")
        self._wake.set()

    def _flush_notes(self) -> None:
        while self._notes:
            self._output(self._notes.popleft())

    def say(self, message: str) -> None:
        """Report a line to whoever shows the engine's output (from the loop's thread)."""
        self._flush_notes()
        self._output(f"{datetime.now():%H:%M:%S} {message}")

    def close(self) -> None:
        """Release the store if the engine made it."""
        if self._owns_store:
            self.store.close()

    # --- the loop -------------------------------------------------------------------

    def run(self) -> None:
        """Poll until stopped; returns when `stop()` was called and every process ended.

        Never raises for a database outage or a failing process; an unexpected error in
        one poll is reported and the loop goes on.
        """
        self._state = RunState.RUNNING
        for folder in (self.settings.clone_dir, self.settings.log_dir):
            try:
                private_dir(folder)  # clones and job output: owner-only (0700)
            except OSError as error:
                self.say(f"Cannot prepare {folder}: {error}")
        # Register before anything else: a name held by a live Scheduler ends the run
        # here (`refused_by`). A database outage now is retried by the polls.
        self._flush_notes()
        self._starting = True
        try:
            self._database(self._register, "registering this run")
        finally:
            self._starting = False
        if self.refused_by is not None:
            self._state = RunState.STOPPED
            return
        watchdog = self._start_watchdog()
        self.say(
            f"Scheduler '{self.settings.name}' started"
            + (" (paused)" if self._paused else "")
            + f"; polling every {self.settings.poll_interval:g} s."
        )
        self._heartbeat_stop.clear()
        self._heartbeat_now.clear()
        self._heartbeat_thread = threading.Thread(
            target=self._heartbeat_loop, name="scheduler-heartbeat", daemon=True
        )
        self._heartbeat_thread.start()
        try:
            while True:
                # Cleared before the poll, so a stop() or resume() during it still wakes
                # the wait below at once.
                self._wake.clear()
                try:
                    self.poll()
                except Exception:
                    self.say("Unexpected error in a poll (the Scheduler goes on):")
                    for line in traceback.format_exc().rstrip().splitlines():
                        self.say("    " + line)
                finished = self._stopping and not self._jobs
                if finished and (not self._outcomes or self._past_deadline()):
                    break
                self._wake.wait(self._sleep_time())
                self._flush_notes()
        finally:
            self._heartbeat_stop.set()
            self._heartbeat_now.set()
            self._heartbeat_thread.join(30)
            self._heartbeat_thread = None
            if watchdog is not None:
                watchdog.stop()
            for lost in self._outcomes:
                self.say(f"Could not record in the database: {lost.description}")
            self._state = RunState.STOPPED
            if self._run_id is not None:
                # On a database error the row keeps its last state; nothing else depends on it.
                with contextlib.suppress(*DATABASE_ERRORS):
                    self.store.set_engine_state(
                        self.settings.name, self._run_id, RunState.STOPPED.value
                    )
            self.say("Scheduler stopped.")

    def _start_watchdog(self) -> Watchdog | None:
        """Start this Scheduler's share of the fleet's watchdog (it evaluates the alert
        rules only while it holds the lease)."""
        if not self.settings.watchdog:
            return None
        watchdog = Watchdog(
            self.store,
            self.settings.name,
            self.notify,
            interval=self.settings.watchdog_interval,
            prune=dict(self.settings.prune),
        )
        watchdog.start()
        return watchdog

    def _past_deadline(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _sleep_time(self) -> float:
        delay = self.settings.poll_interval
        now = time.monotonic()
        if self._next_due is not None and not self._paused and not self._stopping:
            delay = min(delay, self._next_due - now)
        if self._stopping and self._deadline is not None and self._jobs:
            # Notice quickly that the last process ended, and kill on time.
            delay = min(delay, STOPPING_POLL, self._deadline - now)
        return max(MIN_WAIT, delay)

    # --- one poll -------------------------------------------------------------------

    def poll(self) -> None:
        """Register (once), watch running jobs, report outcomes, reap the dead, start work.

        Heartbeats come from their own thread while `run()` runs; a caller that drives
        `poll()` by hand (tests) gets one heartbeat per poll instead.
        """
        self._flush_notes()
        self._next_due = None
        if self._lost is not None:
            self._handle_lost_name()
        if self._run_id is None and not self._retired:
            database_ok = self._database(self._register, "registering this run")
        elif self._heartbeat_thread is None:
            database_ok = self._database(self._send_heartbeat, "sending the heartbeat")
        else:
            database_ok = True
        if self._run_id is None or self._lost is not None:
            # Not registered (yet): watch processes, but claim no work.
            self._watch_jobs(False)
            return
        database_ok = self._watch_jobs(database_ok)
        if database_ok:
            database_ok = self._report_outcomes()
        if database_ok and self._sweep is not None and time.monotonic() >= self._sweep[0]:
            database_ok = self._database(self._end_replaced_leftovers, "ending leftover jobs")
        if database_ok and self._reap_due():
            database_ok = self._database(self._reap_dead_schedulers, "reaping dead Schedulers")
            if database_ok:
                # An original Scheduler may have recomputed a zoned or calendar trigger's
                # next run from the cron alone: put it right (docs/migrating.md). A due
                # one is also checked when it is read (get_pending_scheduled_triggers).
                database_ok = self._database(self.store.correct_next_runs, "correcting next runs")
        if database_ok and not self._paused and not self._stopping:
            self._database(self._start_work, "looking for triggers")

    def _database(self, work: Callable[[], object], doing: str) -> bool:
        """Run a step that talks to the database; turn an outage into a message."""
        try:
            work()
        except StoreError:  # refused input or a missing row is no outage
            raise
        except DATABASE_ERRORS as error:
            self._outage(error, doing)
            return False
        if self._database_down_since is not None:
            down_for = time.monotonic() - self._database_down_since
            self._database_down_since = None
            self.say(f"The database is reachable again (after {down_for:.0f} s).")
        return True

    def _outage(self, error: BaseException, doing: str) -> None:
        now = time.monotonic()
        first = self._database_down_since is None
        if first:
            self._database_down_since = now
        if first or now - self._last_outage_message >= OUTAGE_REPEAT:
            self._last_outage_message = now
            self.say(
                f"Database error while {doing}; running processes go on and their "
                f"outcomes will be recorded later. {describe_connection_error(error)}"
            )

    # --- the run: registration, heartbeats, losing the name ------------------------

    def _register(self) -> None:
        """Own the name with a fresh run id unless a live run holds it; end what earlier
        runs left RUNNING (after replacing a live run: once it had time to)."""
        run_id = uuid.uuid4()
        name = self.settings.name
        registration = self.store.register_run(
            name,
            run_id,
            self.settings.heartbeat_timeout,
            self.state.value,
            here=self._here,
            pid_running=is_running,
            replace=self._replace,
        )
        if registration.refused_by is not None:
            self.refused_by = registration.refused_by
            with self._lock:
                self._retired = True
            if not self._starting:  # at start, run() returns and its caller says why
                self.say(name_in_use(registration.refused_by))
                self.stop(0)
            return
        with self._lock:
            self._run_id = run_id
            self._lost = None
        self._replace = False  # a deliberate takeover happens once
        self.say(f"Registered as run {run_id} of '{name}'.")
        previous = registration.previous
        if previous is not None and previous.alive:
            count = len(registration.handed_over)
            wait = previous.heartbeat_timeout + min(REPLACE_MARGIN, previous.heartbeat_timeout)
            self.say(
                f"Replaced the running Scheduler on {previous.where()} under the name "
                f"'{name}' (--replace): {count} process(es) of it were set to KILLING, as a "
                f"kill from the Orchestrator does; it kills them, records them KILLED and "
                f"stops within its heartbeat timeout ({previous.heartbeat_timeout:g} s). "
                f"What it leaves RUNNING is ended here after {wait:g} s."
            )
            self._sweep = (time.monotonic() + wait, previous)
        elif previous is not None:
            self.say(
                f"The name '{name}' was held by a run that is gone ({previous.where()}): "
                "taken over."
            )
        if registration.leftovers:
            here = previous is None or previous.host in (None, self._here.host)
            self._end_leftovers(registration.leftovers, here)

    def _end_replaced_leftovers(self) -> None:
        """After replacing a live run and waiting out its heartbeat timeout: end what it
        still left RUNNING as any restart does."""
        sweep, self._sweep = self._sweep, None
        if sweep is None or self._run_id is None:
            return
        leftovers = self.store.get_leftover_jobs(self.settings.name, self._run_id)
        if leftovers:
            self._end_leftovers(leftovers, sweep[1].host in (None, self._here.host))

    def _end_leftovers(self, leftovers: tuple[LeftoverJob, ...], here: bool = True) -> None:
        """Kill what is left of the process trees an earlier run started (only processes
        recognisable by pid and start time, and only when that run was on this host),
        then fail their jobs."""
        messages: dict[uuid.UUID, str] = {}
        for job in leftovers:
            if job.pid is not None and job.process_started is not None and not here:
                fate = f"its process (pid {job.pid}) is on another machine and was left alone"
            elif job.pid is not None and job.process_started is not None:
                killed = kill_recognised(job.pid, job.process_started)
                fate = (
                    f"its process tree (pid {job.pid}, {killed} process(es)) was killed"
                    if killed
                    else f"its process (pid {job.pid}) had already ended"
                )
            else:
                fate = "it had not started a process yet"
            messages[job.job_id] = (
                f"The Scheduler '{self.settings.name}' restarted while this job ran (the run "
                f"that started it is gone); {fate}. The job was marked FAILED and its trigger "
                "treated as after any failure."
            )
            self.say(
                f"Restarted: job {job.job_id} ({job.process_name}) of an earlier run was still "
                f"RUNNING; {fate}; marking it FAILED."
            )
        self.store.end_leftover_jobs(messages)

    def _send_heartbeat(self) -> None:
        """One heartbeat; a lost name is handed to the loop's thread."""
        run_id = self._run_id
        if run_id is None:
            return
        result = self.store.heartbeat(self.settings.name, run_id, self.state.value)
        if result is not HeartbeatResult.ALIVE:
            with self._lock:
                if self._run_id == run_id and self._lost is None:
                    self._lost = result
            self._wake.set()

    def _heartbeat_loop(self) -> None:
        """The heartbeat thread: independent of clones, launches and kills in the loop."""
        interval = heartbeat_interval(self.settings.heartbeat_timeout)
        failing = False
        while True:
            self._heartbeat_now.wait(interval)
            self._heartbeat_now.clear()
            if self._heartbeat_stop.is_set():
                return
            try:
                self._send_heartbeat()
            except DATABASE_ERRORS as error:
                if not failing:
                    self._notify(f"Heartbeat not recorded: {describe_connection_error(error)}")
                failing = True
            except Exception as error:  # the thread must outlive any surprise
                self._notify(f"Heartbeat failed: {type(error).__name__}: {error}")
            else:
                failing = False

    def _handle_lost_name(self) -> None:
        """This run was declared dead (its jobs already ended by another: stop its
        processes, record nothing over that, register again), or another run took its
        name (kill its processes, record them KILLED as a kill from the Orchestrator
        would, and stop)."""
        lost = self._lost
        count = len(self._jobs)
        if lost is HeartbeatResult.SUPERSEDED:
            holder = None
            with contextlib.suppress(*DATABASE_ERRORS):
                holder = self.store.get_run_holder(self.settings.name)
            who = holder.where() if holder is not None else "another machine"
            why = f"the Scheduler on {who} took over the name '{self.settings.name}'"
            for job in list(self._jobs.values()):
                self._kill(job, why)
            self._database(self._report_outcomes, "recording the killed processes")
            with self._lock:
                self._run_id = None
                self._lost = None
                self._retired = True
            self.say(
                f"The Scheduler on {who} took over the name '{self.settings.name}': this "
                f"one killed its {count} process(es) (marked KILLED) and stops (each "
                "Scheduler needs its own name)."
            )
            self.stop(0)
            return
        for job in list(self._jobs.values()):
            kill_tree(job.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                job.launched.popen.wait(KILL_WAIT)
            self._end(job)
        dropped = len(self._outcomes)
        self._outcomes.clear()
        with self._lock:
            self._run_id = None
        self.say(
            f"This Scheduler was declared dead by another (no heartbeat reached the database "
            f"within {self.settings.heartbeat_timeout:g} s) and its jobs were marked FAILED: "
            f"it stopped its {count} process(es), dropped {dropped} unrecorded outcome(s), "
            "and registers again as a new run."
        )
        self._lost = None

    def _reap_due(self) -> bool:
        """Reap once per heartbeat interval (a few small queries), not every poll."""
        now = time.monotonic()
        if now - self._last_reap < heartbeat_interval(self.settings.heartbeat_timeout):
            return False
        self._last_reap = now
        return True

    def _reap_dead_schedulers(self) -> None:
        """Fail the jobs of Schedulers silent past their own declared timeout (this one's
        for rows that declare none)."""
        timeout = self.settings.heartbeat_timeout
        for job in self.store.fail_jobs_of_dead_schedulers(timedelta(seconds=timeout)):
            self.say(
                f"Scheduler '{job.scheduler_name}' is silent past its heartbeat timeout: its "
                f"job {job.id} ({job.process_name}) was marked FAILED."
            )

    # --- watching -------------------------------------------------------------------

    def _watch_jobs(self, database_ok: bool) -> bool:
        """Report ended processes, kill those asked to die; False when the database
        failed (or was not to be used)."""
        if not self._jobs:
            return database_ok
        statuses: dict[uuid.UUID, TriggerStatus] = {}
        if database_ok:
            ids = [job.trigger_id for job in self._jobs.values()]

            def read() -> None:
                statuses.update(self.store.get_trigger_statuses(ids))

            database_ok = self._database(read, "reading trigger statuses")
        kill_all = self._stopping and self._past_deadline()
        for job in list(self._jobs.values()):
            code = job.launched.popen.poll()
            if code is not None:
                self._finish(job, code)
            elif statuses.get(job.trigger_id) is TriggerStatus.KILLING:
                self._kill(job, "the trigger was set to KILLING")
            elif kill_all:
                self._kill(job, self._kill_reason)
        return database_ok

    def _kill(self, job: RunningJob, why: str) -> None:
        kill_tree(job.pid)
        try:
            job.launched.popen.wait(KILL_WAIT)
        except subprocess.TimeoutExpired:
            self.say(f"Process {job.pid} did not die within {KILL_WAIT:g} s of being killed.")
        self.say(f"Killed '{job.trigger_name}' (job {job.job_id}): {why}.")
        self._end(job)
        message = f"The Scheduler killed this process and its children: {why}."
        self._end_job(
            f"'{job.trigger_name}' was killed (job {job.job_id})",
            job.job_id,
            JobStatus.KILLED,
            message,
            LogLevel.INFO,
            end_time=job.ended_at or datetime.now(),
        )

    def _finish(self, job: RunningJob, code: int) -> None:
        self._end(job)
        ended_at = job.ended_at or datetime.now()
        store = self.store
        seconds = time.monotonic() - job.started_at
        if code == 0:
            self.say(f"'{job.trigger_name}' finished (exit 0, {seconds:.1f} s).")
            # The job is DONE, or FAILED if the process reported a failure; the trigger
            # follows the exit code (a reported failure is the run's, not the trigger's).
            self._record(
                f"'{job.trigger_name}' finished",
                lambda: store.end_job_after_exit(job.job_id, 0, end_time=ended_at),
            )
            return
        tail = job.launched.stderr_tail()
        self.say(f"'{job.trigger_name}' failed (exit {code}, {seconds:.1f} s).")
        message = exit_message(code, tail)
        self._record(
            f"'{job.trigger_name}' failed with exit code {code}",
            lambda: store.end_job_after_exit(job.job_id, code, message, end_time=ended_at),
        )

    def _record(self, description: str, record: Callable[[], object]) -> None:
        """Queue a job's end (job, trigger, log: one transaction through the data layer's
        state machine) for the database; replayed until it has reached it.

        The state machine moves the trigger (Single → DONE; Scheduled/Queue: PAUSING →
        PAUSED, RUNNING → IDLE; after a failure FAILED unless the trigger keeps running;
        KILLING → KILLED) and does nothing when the job had already ended elsewhere.
        """
        self._outcomes.append(Outcome(description, record))

    def _end_job(
        self,
        description: str,
        job_id: uuid.UUID,
        status: JobStatus,
        message: str | None = None,
        level: LogLevel = LogLevel.ERROR,
        end_time: datetime | None = None,
    ) -> None:
        """`_record` of an end whose status is known (a kill, a launch failure)."""
        store = self.store
        self._record(
            description, lambda: store.end_job(job_id, status, message, level, end_time=end_time)
        )

    def _end(self, job: RunningJob) -> None:
        """Forget a job locally: close its files, remove its clone."""
        self._jobs.pop(job.job_id, None)
        try:
            job.launched.cleanup()
        except OSError as error:
            self.say(f"Could not remove {job.launched.clone_path}: {error}")

    def _report_outcomes(self) -> bool:
        """Record pending outcomes in order; False when the database failed."""
        while self._outcomes:
            if not self._database(self._outcomes[0].record, "recording an outcome"):
                return False
            self._outcomes.pop(0)
        return True

    # --- starting work --------------------------------------------------------------

    def _start_work(self) -> None:
        now = datetime.now()
        blocking_running = any(job.is_blocking for job in self._jobs.values())
        if not blocking_running:
            # A run requested over the HTTP API is its trigger, "due now", with the
            # request's arguments: the same selection rules decide whether it starts.
            requested: dict[int, RunRequest] = {}
            candidates: list[Trigger] = []
            for request, trigger in self.store.get_pending_run_requests():
                if request.process_args is not None:
                    trigger.process_args = request.process_args  # detached: this run only
                requested[id(trigger)] = request
                candidates.append(trigger)
            candidates += [
                *self.store.get_pending_single_triggers(now),
                *self.store.get_pending_scheduled_triggers(now),
                *self.store.get_pending_queue_triggers(),
            ]
            select_and_begin(
                candidates,
                self.settings.name,
                self.settings.exclusive,
                running=len(self._jobs),
                blocking_running=False,
                begin=lambda trigger: self._begin_and_launch(trigger, requested.get(id(trigger))),
            )
        next_run = self.store.get_next_run_time(datetime.now())
        if next_run is not None:
            # A few ms late, so the trigger is surely due when the poll reads it.
            seconds = (next_run - datetime.now()).total_seconds() + 0.01
            self._next_due = time.monotonic() + max(0.0, seconds)

    def _begin_and_launch(self, trigger: Trigger, request: RunRequest | None = None) -> bool:
        """Claim a trigger (or a run requested for it) and create its job owned by this
        run, in one transaction; then start its process. True if it runs now."""
        store = self.store
        if request is not None:
            job = store.begin_run_request(request.id, self.settings.name, self._run_id)
        else:
            job = store.begin_trigger_run(trigger.id, self.settings.name, self._run_id)
        if job is None:
            return False
        via = (
            "" if request is None else (f", run {request.id} requested by '{request.requested_by}'")
        )
        self.say(f"Starting '{trigger.trigger_name}' ({trigger.process_name}), job {job.id}{via}.")
        try:
            launched = self._launch(trigger, job.id)
        except LaunchError as error:
            self._launch_failed(trigger, job.id, str(error))
            return False
        except Exception as error:  # a bug must not leave the trigger RUNNING forever
            self._launch_failed(trigger, job.id, f"unexpected {type(error).__name__}: {error}")
            return False
        pid = launched.popen.pid
        try:
            self.store.record_job_process(job.id, pid, start_time(pid))
        except DATABASE_ERRORS as error:
            self._outage(error, "recording the process of a job")
        running = RunningJob(
            job_id=job.id,
            trigger_id=trigger.id,
            trigger_name=trigger.trigger_name,
            process_name=trigger.process_name,
            is_blocking=bool(trigger.is_blocking),
            launched=launched,
        )
        self._jobs[job.id] = running
        self._watch_exit(running)
        return True

    def _watch_exit(self, job: RunningJob) -> None:
        """Note the moment the process exits and wake the loop to report it at once."""

        def wait() -> None:
            try:
                job.launched.popen.wait()
            except Exception:  # the loop's own poll() still notices the exit
                return
            job.ended_at = datetime.now()
            self._wake.set()

        threading.Thread(target=wait, name=f"job-{job.job_id}", daemon=True).start()

    def _launch(self, trigger: Trigger, job_id: uuid.UUID) -> Launched:
        """Resolve the script (cloning if needed) and start it with the argv contract.

        Raises:
            LaunchError: anything that keeps the process from starting.
        """
        settings = self.settings
        clone_path: Path | None = None
        try:
            if trigger.is_git_repo:
                folder = f"{launcher.safe_folder_name(trigger.process_name)}_{job_id.hex[:12]}"
                clone_path = settings.clone_dir / folder
                self.say(f"Cloning {trigger.process_path} into {clone_path}.")
                launcher.clone_repository(trigger.process_path, trigger.git_branch, clone_path)
                script = launcher.find_main_script(clone_path)
            else:
                script = launcher.check_script_path(trigger.process_path)
            argv = launcher.build_argv(
                settings.python,
                script,
                trigger.process_name,
                settings.conn_string,
                settings.crypto_key,
                trigger.process_args,
                trigger.id,
                job_id,
            )
            in_use = {
                path
                for job in self._jobs.values()
                for path in (job.launched.stdout_path, job.launched.stderr_path)
            }
            launcher.prune_logs(settings.log_dir, settings.keep_logs - 1, in_use.__contains__)
            stdout_path, stderr_path = launcher.output_paths(settings.log_dir, job_id)
            popen, files = launcher.start_process(argv, script.parent, stdout_path, stderr_path)
        except LaunchError:
            if clone_path is not None:
                launcher.remove_tree(clone_path)
            raise
        except OSError as error:
            if clone_path is not None:
                launcher.remove_tree(clone_path)
            raise LaunchError(str(error)) from error
        return Launched(popen, script, stdout_path, stderr_path, clone_path, files)

    def _launch_failed(self, trigger: Trigger, job_id: uuid.UUID, reason: str) -> None:
        self.say(f"Could not launch '{trigger.trigger_name}': {reason}.")
        message = f"The Scheduler couldn't launch the process: {reason}."
        self._end_job(
            f"'{trigger.trigger_name}' could not be launched", job_id, JobStatus.FAILED, message
        )
        self._report_outcomes()

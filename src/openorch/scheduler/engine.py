"""The Scheduler engine: one poll, the run loop, pause/resume and stopping.

It knows nothing of Tk or terminals: it reports through an `output` callback, and its
control methods (`pause`, `resume`, `stop`) are safe to call from another thread (the
Tk main loop, a signal handler). Only the thread inside `run()` (or a test calling
`poll()`) touches processes and the database.

A database outage never loses an outcome: every outcome is a list of steps (log,
trigger status, job status) kept in memory and replayed, in order, until each step has
reached the database.
"""

import collections
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

from openorch.database import (
    Job,
    JobStatus,
    LogLevel,
    RunRequest,
    SingleTrigger,
    Trigger,
    TriggerStatus,
)
from openorch.masking import for_terminal
from openorch.private_files import private_dir
from openorch.scheduler import launcher
from openorch.scheduler.config import SchedulerSettings
from openorch.scheduler.launcher import Launched, LaunchError
from openorch.scheduler.process_tree import kill_tree
from openorch.scheduler.selection import select_and_begin
from openorch.store import Store, describe_connection_error

#: Errors that mean "the database is not answering" rather than a bug.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (exc.SQLAlchemyError, OSError)

#: While the database is down, repeat the "unreachable" message this often (seconds).
OUTAGE_REPEAT = 60.0

#: While stopping with processes running, poll at least this often (seconds).
STOPPING_POLL = 0.5

#: How long to wait for a killed process to be gone (seconds).
KILL_WAIT = 10.0

#: Shortest sleep between polls, so a trigger due "now" cannot make the loop spin.
MIN_WAIT = 0.02


class RunState(enum.Enum):
    """Where the engine stands; shown by both UIs."""

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
    is_single: bool
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
    """What must reach the database about one job; steps are dropped as they succeed."""

    description: str
    steps: list[Callable[[], object]]


class SchedulerEngine:
    """Polls the database, starts processes, watches them and reports their outcome.

    Built from settings and an optional `Store` (the caller keeps ownership of a store
    it passes; the engine closes one it made). `paused=True` starts it without taking
    work (it still sends heartbeats and watches processes).
    """

    def __init__(
        self,
        settings: SchedulerSettings,
        store: Store | None = None,
        output: Callable[[str], None] | None = None,
        *,
        paused: bool = False,
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
    def paused(self) -> bool:
        """True while the engine takes no new work."""
        return self._paused

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
            self._notify("Paused: no new work is taken; running processes are still watched.")

    def resume(self) -> None:
        """Take new work again (at once, not at the next poll)."""
        if self._paused:
            self._paused = False
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
        self.say(
            f"Scheduler '{self.settings.name}' started"
            + (" (paused)" if self._paused else "")
            + f"; polling every {self.settings.poll_interval:g} s."
        )
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
            for lost in self._outcomes:
                self.say(f"Could not record in the database: {lost.description}")
            self._state = RunState.STOPPED
            self.say("Scheduler stopped.")

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
        """Heartbeat, watch running jobs, report outcomes, reap the dead, start work."""
        self._flush_notes()
        self._next_due = None
        database_ok = self._database(self._heartbeat, "sending the heartbeat")
        self._watch_jobs(database_ok)
        if database_ok:
            database_ok = self._report_outcomes()
        if database_ok:
            database_ok = self._database(self._reap_dead_schedulers, "reaping dead Schedulers")
        if database_ok and not self._paused and not self._stopping:
            self._database(self._start_work, "looking for triggers")

    def _database(self, work: Callable[[], object], doing: str) -> bool:
        """Run a step that talks to the database; turn an outage into a message."""
        try:
            work()
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

    def _heartbeat(self) -> None:
        self.store.send_ping_from_scheduler(self.settings.name)

    def _reap_dead_schedulers(self) -> None:
        timeout = self.settings.heartbeat_timeout
        now = time.monotonic()
        if now - self._last_reap < min(30.0, timeout / 4):
            return
        self._last_reap = now
        for job in self.store.fail_jobs_of_dead_schedulers(timedelta(seconds=timeout)):
            self.say(
                f"Scheduler '{job.scheduler_name}' is silent for over {timeout:g} s: its job "
                f"{job.id} ({job.process_name}) was marked FAILED."
            )

    # --- watching -------------------------------------------------------------------

    def _watch_jobs(self, database_ok: bool) -> None:
        if not self._jobs:
            return
        statuses: dict[uuid.UUID, TriggerStatus] = {}
        if database_ok:
            ids = [job.trigger_id for job in self._jobs.values()]

            def read() -> None:
                statuses.update(self.store.get_trigger_statuses(ids))

            self._database(read, "reading trigger statuses")
        kill_all = self._stopping and self._past_deadline()
        for job in list(self._jobs.values()):
            code = job.launched.popen.poll()
            if code is not None:
                self._finish(job, code)
            elif statuses.get(job.trigger_id) is TriggerStatus.KILLING:
                self._kill(job, "the trigger was set to KILLING")
            elif kill_all:
                self._kill(job, self._kill_reason)

    def _kill(self, job: RunningJob, why: str) -> None:
        kill_tree(job.pid)
        try:
            job.launched.popen.wait(KILL_WAIT)
        except subprocess.TimeoutExpired:
            self.say(f"Process {job.pid} did not die within {KILL_WAIT:g} s of being killed.")
        self.say(f"Killed '{job.trigger_name}' (job {job.job_id}): {why}.")
        self._end(job)
        ended_at = job.ended_at or datetime.now()
        store = self.store
        message = f"The Scheduler killed this process and its children: {why}."
        self._outcomes.append(
            Outcome(
                f"'{job.trigger_name}' was killed (job {job.job_id})",
                [
                    lambda: store.create_log(job.process_name, LogLevel.INFO, job.job_id, message),
                    lambda: store.change_trigger_status(
                        job.trigger_id,
                        [TriggerStatus.KILLING, TriggerStatus.RUNNING, TriggerStatus.PAUSING],
                        TriggerStatus.KILLED,
                    ),
                    lambda: store.end_job(job.job_id, JobStatus.KILLED, end_time=ended_at),
                ],
            )
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
            steps: list[Callable[[], object]] = [
                lambda: self._trigger_after_success(job),
                lambda: store.end_job_after_exit(job.job_id, 0, end_time=ended_at),
            ]
            self._outcomes.append(Outcome(f"'{job.trigger_name}' finished", steps))
            return
        tail = job.launched.stderr_tail()
        self.say(f"'{job.trigger_name}' failed (exit {code}, {seconds:.1f} s).")
        message = f"The process exited with code {code}."
        if tail.strip():
            message += f" The end of its error output:\n{tail}"
        else:
            message += " It wrote no error output."
        self._outcomes.append(
            Outcome(
                f"'{job.trigger_name}' failed with exit code {code}",
                [
                    lambda: store.create_log(job.process_name, LogLevel.ERROR, job.job_id, message),
                    lambda: store.change_trigger_status(
                        job.trigger_id,
                        [TriggerStatus.RUNNING, TriggerStatus.PAUSING, TriggerStatus.KILLING],
                        TriggerStatus.FAILED,
                    ),
                    lambda: store.end_job_after_exit(job.job_id, code, end_time=ended_at),
                ],
            )
        )

    def _trigger_after_success(self, job: RunningJob) -> None:
        """Exit 0: Single → DONE; Scheduled/Queue: PAUSING → PAUSED, RUNNING → IDLE.

        A trigger set to KILLING whose process ended by itself first becomes KILLED: the
        admin asked for it to stop, and a trigger must not stay KILLING forever.
        """
        change = self.store.change_trigger_status
        if job.is_single:
            done = change(
                job.trigger_id, [TriggerStatus.RUNNING, TriggerStatus.PAUSING], TriggerStatus.DONE
            )
        else:
            done = change(job.trigger_id, [TriggerStatus.PAUSING], TriggerStatus.PAUSED) or change(
                job.trigger_id, [TriggerStatus.RUNNING], TriggerStatus.IDLE
            )
        if not done:
            change(job.trigger_id, [TriggerStatus.KILLING], TriggerStatus.KILLED)

    def _end(self, job: RunningJob) -> None:
        """Forget a job locally: close its files, remove its clone."""
        self._jobs.pop(job.job_id, None)
        try:
            job.launched.cleanup()
        except OSError as error:
            self.say(f"Could not remove {job.launched.clone_path}: {error}")

    def _report_outcomes(self) -> bool:
        """Replay pending outcome steps in order; False when the database failed."""
        while self._outcomes:
            outcome = self._outcomes[0]
            while outcome.steps:
                if not self._database(outcome.steps[0], "recording an outcome"):
                    return False
                outcome.steps.pop(0)
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
        """Claim a trigger (or a run requested for it); on success start its job and
        process. True if it runs now."""
        store = self.store
        if request is not None:
            # Request, trigger and job are claimed and created in one transaction.
            begun = store.begin_run_request(request.id, self.settings.name)
            if begun is None:
                return False
            job = begun
        else:
            if not store.begin_trigger(trigger.id):
                return False
            job = self._start_job(trigger)
        via = "" if request is None else (
            f", run {request.id} requested by '{request.requested_by}'"
        )
        self.say(f"Starting '{trigger.trigger_name}' ({trigger.process_name}), job {job.id}{via}.")
        try:
            store.start_trigger_from_machine(self.settings.name, trigger.trigger_name)
        except DATABASE_ERRORS as error:
            self._outage(error, "recording the latest trigger")
        try:
            launched = self._launch(trigger, job.id)
        except LaunchError as error:
            self._launch_failed(trigger, job.id, str(error))
            return False
        except Exception as error:  # a bug must not leave the trigger RUNNING forever
            self._launch_failed(trigger, job.id, f"unexpected {type(error).__name__}: {error}")
            return False
        running = RunningJob(
            job_id=job.id,
            trigger_id=trigger.id,
            trigger_name=trigger.trigger_name,
            process_name=trigger.process_name,
            is_blocking=bool(trigger.is_blocking),
            is_single=isinstance(trigger, SingleTrigger),
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

    def _start_job(self, trigger: Trigger) -> Job:
        """Record the job of a trigger just claimed. On a database error the trigger is
        given back (rather than left RUNNING) once the database answers, and the error
        re-raised."""
        store = self.store
        try:
            return store.start_job(trigger.process_name, self.settings.name, trigger.id)
        except DATABASE_ERRORS:
            self._outcomes.append(
                Outcome(
                    f"'{trigger.trigger_name}' could not start (database error)",
                    [lambda: store.change_trigger_status(
                        trigger.id, [TriggerStatus.RUNNING], TriggerStatus.IDLE
                    )],
                )
            )
            raise

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
                settings.python, script, trigger.process_name, settings.conn_string,
                settings.crypto_key, trigger.process_args, trigger.id, job_id,
            )
            in_use = {path for job in self._jobs.values()
                      for path in (job.launched.stdout_path, job.launched.stderr_path)}
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
        store = self.store
        message = f"The Scheduler couldn't launch the process: {reason}."
        self._outcomes.append(
            Outcome(
                f"'{trigger.trigger_name}' could not be launched",
                [
                    lambda: store.create_log(trigger.process_name, LogLevel.ERROR, job_id, message),
                    lambda: store.change_trigger_status(
                        trigger.id,
                        [TriggerStatus.RUNNING, TriggerStatus.PAUSING, TriggerStatus.KILLING],
                        TriggerStatus.FAILED,
                    ),
                    lambda: store.end_job(job_id, JobStatus.FAILED),
                ],
            )
        )
        self._report_outcomes()

"""`OrchestratorConnection`: what a process started by the Scheduler uses to log, read
constants and credentials, and work queues.

A connection is an object, not global state: two connections to two databases (or with
two keys) work side by side in one process. It holds no SQL; every call goes through the
data layer (`openorch.store.Store`).
"""

import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import exc

from openorch.database import (
    Constant,
    Credential,
    JobOutcome,
    Log,
    LogLevel,
    QueueElement,
    QueueSettings,
    QueueStatus,
    TriggerStatus,
)
from openorch.database.ids import new_id
from openorch.sdk.delegation import documented_by
from openorch.store import BulkCreated, Store, describe_connection_error
from openorch.store import validation as v
from openorch.store.engine import connection_problem
from openorch.store.errors import BadInput, TransitionRefused

T = TypeVar("T")

#: The arguments after the script, as the Scheduler passes them (the last two optional).
ARGUMENTS = (
    "<process_name> <connection_string> <crypto_key> <process_args> [<trigger_id> [<job_id>]]"
)
_REQUIRED_ARGS = ("process_name", "connection_string", "crypto_key", "process_args")


#: How long a process started by a Scheduler waits for an unreachable database, in seconds.
STARTUP_PATIENCE_SECONDS = 60.0


def _ping_patiently(store: Store, connection_string: str, patience: float) -> None:
    """Ping the database; while the server is unreachable, retry for `patience` seconds."""
    deadline = time.monotonic() + patience
    delay = 0.5
    warned = False
    while True:
        try:
            store.ping()
            return
        except Exception as error:
            if connection_problem(error) != "unreachable":
                raise
            if time.monotonic() + delay > deadline:
                raise
            message = describe_connection_error(error, connection_string)
            if not warned:
                print(
                    f"openorch: {message}; retrying for up to {patience:g} s.",
                    file=sys.stderr,
                    flush=True,
                )
                warned = True
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


#: How long a process started by a Scheduler waits out a database outage mid-run, in seconds.
OUTAGE_PATIENCE_SECONDS = 60.0

#: Words of a driver error that mean the server was never reached, so nothing was written.
_NEVER_REACHED = (
    "connection refused",
    "could not connect",
    "connection failed",
    "is the server running",
    "timeout expired",
    "login timeout",
    "name or service not known",
    "no route to host",
)

_OUTAGE_ERRORS = (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError)


def _never_reached(error: BaseException) -> bool:
    text = str(getattr(error, "orig", None) or error).lower()
    return any(words in text for words in _NEVER_REACHED)


class CannotConnect(ConnectionError, RuntimeError):
    """The database cannot be reached (the message says why). Also a `RuntimeError`:
    OpenOrchestrator 3.0.0 raised one ("Not connected to database.") at the first call,
    so `except RuntimeError` clauses written for it still catch this."""


class MalformedConnectionString(BadInput, RuntimeError):
    """The connection string is not a SQLAlchemy URL. A `ValueError`, and a
    `RuntimeError` as `CannotConnect` is."""


class MissingArguments(BadInput, IndexError):
    """`create_connection_from_args` found fewer than four arguments (the message names
    them). Also the `IndexError` OpenOrchestrator 3.0.0 raised."""


class OrchestratorConnection:
    """A process's connection to the orchestrator database.

    Example:
        >>> oc = OrchestratorConnection.create_connection_from_args()
        >>> oc.log_info("started")

    Any key is taken, as OpenOrchestrator 3.0.0 took it: a missing or malformed key
    fails when a credential is first read or written, with a message saying so, so a
    script run by hand with a dummy key can log, read constants and work queues.

    Raises:
        ValueError: the connection string is malformed (`MalformedConnectionString`),
            or an id is not a UUID.
        ConnectionError: the database cannot be reached (`CannotConnect`, also a
            RuntimeError; the message says why).
    """

    def __init__(
        self,
        process_name: str,
        connection_string: str,
        crypto_key: str | bytes,
        process_arguments: str | None,
        trigger_id: uuid.UUID | str | None = None,
        job_id: uuid.UUID | str | None = None,
    ) -> None:
        v.check_text(Log, "process_name", process_name)
        if process_arguments is not None and not isinstance(process_arguments, str):
            raise ValueError(
                f"process_arguments must be a string, not {type(process_arguments).__name__}."
            )
        self.process_name: str = process_name
        self.process_arguments: str = process_arguments or ""
        self._trigger_key = v.check_optional_uuid("trigger_id", trigger_id)
        self._job_key = v.check_optional_uuid("job_id", job_id)
        #: The ids as UUIDs (None when not given). The `OpenOrchestrator` package's
        #: subclass keeps the strings it was given instead, as the original did.
        self.trigger_id: uuid.UUID | str | None = self._trigger_key
        self.job_id: uuid.UUID | str | None = self._job_key
        #: For how long calls wait out a database outage (a process started by a Scheduler).
        self.outage_patience: float = OUTAGE_PATIENCE_SECONDS
        try:
            self._store = Store(connection_string)
        except ValueError as error:
            raise MalformedConnectionString(str(error)) from error
        # Who this process's changes are in the elements' history as.
        self._store.history_actor = f"process {process_name}" + (
            f", job {self._job_key}" if self._job_key is not None else ""
        )
        # Checked when a credential is used (the message never repeats the key).
        self._store.set_key(crypto_key, check_now=False)
        # Started by a Scheduler (a job id), the database answered moments ago: an
        # unreachable server is most likely a short outage, so wait for it a while
        # rather than fail the job. Started by hand, say what is wrong at once.
        patience = STARTUP_PATIENCE_SECONDS if self._job_key is not None else 0.0
        try:
            _ping_patiently(self._store, connection_string, patience)
        except Exception as error:
            self._store.close()
            raise CannotConnect(describe_connection_error(error, connection_string)) from error

    @classmethod
    def create_connection_from_args(cls) -> "OrchestratorConnection":
        """Build a connection from `sys.argv`, as the Scheduler starts processes:

        `script.py process_name connection_string crypto_key process_args [trigger_id [job_id]]`

        Positions 5 (trigger id) and 6 (job id) are optional so a developer can start
        the script by hand with four arguments; an empty string there means "none".

        Raises:
            ValueError: a required argument is missing (`MissingArguments`, also the
                IndexError the original raised; the message names it and shows the
                command line), or an argument is invalid.
            ConnectionError: the database cannot be reached.
        """
        args = sys.argv[1:7]
        if len(args) < len(_REQUIRED_ARGS):
            missing = ", ".join(_REQUIRED_ARGS[len(args) :])
            script = sys.argv[0] if sys.argv and sys.argv[0] else "<script.py>"
            raise MissingArguments(
                f"Missing command-line argument(s): {missing} (got {len(args)} of the 4 "
                f"required). Start the script as:\n  python {script} "
                f"{ARGUMENTS}\n"
                "The Scheduler passes all six; started by hand, give at least the first four "
                '(use "" for process_args when there are none).'
            )
        process_name, connection_string, crypto_key, process_args = args[:4]
        trigger_id = args[4] if len(args) > 4 else None
        job_id = args[5] if len(args) > 5 else None
        return cls(process_name, connection_string, crypto_key, process_args, trigger_id, job_id)

    @property
    def store(self) -> Store:
        """The data layer this connection uses (for tools that need more than the SDK)."""
        return self._store

    def close(self) -> None:
        """Release the database connections (optional; the process ending does it too)."""
        self._store.close()

    def __enter__(self) -> "OrchestratorConnection":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        # The original's text: log lines and text matching see it.
        return f"OrchestratorConnection - Process name: {self.process_name}"

    # --- riding through an outage --------------------------------------------------

    def _patiently(self, work: Callable[[], T], *, repeatable: bool = True) -> T:
        """Run `work`; in a process started by a Scheduler, wait out a database outage of
        up to `outage_patience` seconds, retrying.

        `repeatable` work may run twice without harm (reads, setting a status, a claim:
        an element claimed by an attempt whose answer was lost stays bound to this job
        and is released when it ends). Other work is retried only when the server was
        never reached, so nothing can have been written. Started by hand (no job id),
        errors are raised at once.
        """
        if self._job_key is None or self._store.dialect == "sqlite":
            return work()
        deadline = time.monotonic() + self.outage_patience
        delay = 0.5
        warned = False
        while True:
            try:
                return work()
            except _OUTAGE_ERRORS as error:
                if not repeatable and not _never_reached(error):
                    raise
                if time.monotonic() + delay > deadline:
                    raise
                if not warned:
                    print(
                        f"openorch: {describe_connection_error(error)}; retrying for up to "
                        f"{self.outage_patience:g} s.",
                        file=sys.stderr,
                        flush=True,
                    )
                    warned = True
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def call(self, work: Callable[[], T], *, repeatable: bool = True) -> T:
        """Run `work` (calls on `self.store`) riding out a short database outage the way
        this connection's own calls do; see `_patiently` for what `repeatable` means.
        For SDK helpers built on the data layer (openorch.sdk.pipeline)."""
        return self._patiently(work, repeatable=repeatable)

    # --- logs -------------------------------------------------------------------------

    def _log(self, level: LogLevel, message: str) -> None:
        self._patiently(
            lambda: self._store.create_log(self.process_name, level, self._job_key, message)
        )

    def log_trace(self, message: str) -> None:
        """Write a TRACE log row for this process (and job, when known)."""
        self._log(LogLevel.TRACE, message)

    def log_info(self, message: str) -> None:
        """Write an INFO log row for this process (and job, when known)."""
        self._log(LogLevel.INFO, message)

    def log_error(self, message: str) -> None:
        """Write an ERROR log row for this process (and job, when known)."""
        self._log(LogLevel.ERROR, message)

    # --- constants and credentials ------------------------------------------------

    @documented_by(Store.get_constant)
    def get_constant(self, constant_name: str) -> Constant:
        return self._patiently(lambda: self._store.get_constant(constant_name))

    def get_credential(self, credential_name: str) -> Credential:
        """The credential called `credential_name`, password decrypted.

        Raises:
            ValueError: no such credential, or the key does not match.
        """
        return self._patiently(
            lambda: self._store.get_credential(credential_name, decrypt_password=True)
        )

    @documented_by(Store.update_constant)
    def update_constant(self, constant_name: str, new_value: str) -> None:
        self._patiently(lambda: self._store.update_constant(constant_name, new_value))

    @documented_by(Store.update_credential)
    def update_credential(self, credential_name: str, new_username: str, new_password: str) -> None:
        self._patiently(
            lambda: self._store.update_credential(credential_name, new_username, new_password)
        )

    # --- queues -------------------------------------------------------------------

    @documented_by(Store.create_queue_element)
    def create_queue_element(
        self,
        queue_name: str,
        reference: str | None = None,
        data: str | None = None,
        created_by: str | None = None,
        *,
        not_before: datetime | None = None,
        deadline: datetime | None = None,
    ) -> QueueElement:
        element_id = new_id()  # the same id on a retry, so it is created once
        return self._patiently(
            lambda: self._store.create_queue_element(
                queue_name,
                reference,
                data,
                created_by,
                not_before=not_before,
                deadline=deadline,
                element_id=element_id,
            )
        )

    @documented_by(Store.bulk_create_queue_elements)
    def bulk_create_queue_elements(
        self,
        queue_name: str,
        references: Sequence[str | None],
        data: Sequence[str | None],
        created_by: str | None = None,
        *,
        skip_duplicates: bool = False,
        not_before: datetime | None = None,
        deadline: datetime | None = None,
    ) -> BulkCreated:
        return self._patiently(
            lambda: self._store.bulk_create_queue_elements(
                queue_name,
                references,
                data,
                created_by,
                skip_duplicates=skip_duplicates,
                not_before=not_before,
                deadline=deadline,
            ),
            # Twice is harmless only where duplicates are skipped.
            repeatable=skip_duplicates,
        )

    @documented_by(Store.get_next_queue_element)
    def get_next_queue_element(
        self, queue_name: str, reference: str | None = None, set_status: bool = True
    ) -> QueueElement | None:
        # Bound to this process's job, when a Scheduler started it (see docs/sdk.md).
        return self._patiently(
            lambda: self._store.get_next_queue_element(
                queue_name, reference, set_status, job_id=self._job_key
            )
        )

    def get_queue_elements(
        self,
        queue_name: str,
        reference: str | None = None,
        status: QueueStatus | str | None = None,
        offset: int = 0,
        limit: int = 100,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> tuple[QueueElement, ...]:
        """Elements of a queue, newest first, filtered by reference, status and date."""
        return self._patiently(
            lambda: self._store.get_queue_elements(
                queue_name,
                reference=reference,
                status=status,
                from_date=from_date,
                to_date=to_date,
                offset=offset,
                limit=limit,
                order_desc=True,
            )
        )

    @documented_by(Store.set_queue_element_status)
    def set_queue_element_status(
        self,
        element_id: uuid.UUID | str,
        status: QueueStatus | str,
        message: str | None = None,
        *,
        kind: str | None = None,
    ) -> None:
        if kind is None:  # the original's call, unchanged
            self._patiently(
                lambda: self._store.set_queue_element_status(element_id, status, message)
            )
            return
        self._patiently(
            lambda: self._store.set_queue_element_status(element_id, status, message, kind=kind)
        )

    def retry_queue_element(
        self,
        element_id: uuid.UUID | str,
        message: str | None = None,
        *,
        kind: str | None = None,
    ) -> QueueStatus:
        """Give up this attempt at the element in hand (IN_PROGRESS) and ask for another:
        it goes back to NEW with attempts + 1, claimable after the queue's retry delay,
        while the queue's max_attempts allows; otherwise it becomes FAILED. `message` is
        stored on the element. Returns the new status (NEW or FAILED).

        `kind="business"` says retrying is pointless: FAILED at once, and to the review
        inbox per the queue's setting (docs/review.md).

        Raises:
            ValueError: bad id or kind, no such element, or it is not IN_PROGRESS.
        """
        key = v.check_uuid("element_id", element_id)
        tried = False

        def attempt() -> QueueStatus:
            nonlocal tried
            if tried:
                # An earlier try may have been applied before its answer was lost.
                element = self._store.get_queue_element(key)
                if element.status is not QueueStatus.IN_PROGRESS:
                    return element.status
            tried = True
            return self._store.retry_queue_element(key, message, kind=kind)

        return self._patiently(attempt)

    def get_queue_settings(self, queue_name: str) -> QueueSettings:
        """A queue's settings (max_attempts, retry_delay_seconds, unique_references,
        default_deadline_seconds, description); the defaults when never set."""
        return self._patiently(lambda: self._store.get_queue_settings(queue_name))

    def set_queue_settings(
        self,
        queue_name: str,
        *,
        max_attempts: int = 1,
        retry_delay_seconds: int | timedelta = 0,
        unique_references: bool = False,
        default_deadline_seconds: int | timedelta | None = None,
        description: str | None = None,
    ) -> QueueSettings:
        """Replace a queue's settings (every field; read them first to change one).

        Raises:
            ValueError: a bad value, or duplicate references when turning unique
                references on.
        """
        return self._patiently(
            lambda: self._store.set_queue_settings(
                queue_name,
                max_attempts=max_attempts,
                retry_delay_seconds=retry_delay_seconds,
                unique_references=unique_references,
                default_deadline_seconds=default_deadline_seconds,
                description=description,
            )
        )

    @documented_by(Store.delete_queue_element)
    def delete_queue_element(self, element_id: uuid.UUID | str) -> None:
        tried = False

        def attempt() -> None:
            nonlocal tried
            if tried:
                try:
                    self._store.delete_queue_element(element_id)
                except ValueError:
                    return  # deleted by the try whose answer was lost
                return
            tried = True
            self._store.delete_queue_element(element_id)

        self._patiently(attempt)

    # --- how the run went ------------------------------------------------------------

    def report_completion(self, message: str, data: Any = None) -> None:
        """Say that this run did its work, with a message and optional JSON data
        (at most 64 KiB as JSON), shown on the job and readable over the HTTP API.

        The last report of a run wins. The job is DONE if the process then exits 0.

        Raises:
            RuntimeError: this process was not started by a Scheduler (no job id).
            ValueError: an empty or too long message, or data that is not
                JSON-serialisable or too large.
        """
        self._report(JobOutcome.COMPLETED, message, data)

    def report_failure(self, message: str, data: Any = None) -> None:
        """Say that this run failed, with a message and optional JSON data.

        The job becomes FAILED when the process ends, even if it exits 0; a later
        `report_completion` in the same run replaces this report.

        Raises:
            RuntimeError: this process was not started by a Scheduler (no job id).
            ValueError: an empty or too long message, or bad or too large data.
        """
        self._report(JobOutcome.FAILED, message, data)

    def _report(self, outcome: JobOutcome, message: str, data: Any) -> None:
        if self._job_key is None:
            name = "report_completion" if outcome is JobOutcome.COMPLETED else "report_failure"
            raise RuntimeError(
                f"{name}() needs a job: this process was started without a job id (by "
                "hand?). Outcomes are recorded only for runs a Scheduler started."
            )
        self._store.report_job_outcome(self._job_key, outcome, message, data)

    # --- the trigger that started this process ------------------------------------

    def is_trigger_pausing(self) -> bool:
        """True when the trigger that started this process is PAUSING or PAUSED, so a
        long-running process can stop early when an admin pauses it.

        A process started by hand (no trigger id) has no trigger to pause: False.

        Raises:
            ValueError: the trigger no longer exists.
        """
        if self._trigger_key is None:
            return False
        trigger_id = self._trigger_key
        trigger = self._patiently(lambda: self._store.get_trigger(trigger_id))
        return trigger.process_status in (TriggerStatus.PAUSING, TriggerStatus.PAUSED)

    def pause_my_trigger(self) -> None:
        """Set the trigger that started this process to PAUSING: it will not run again
        until an admin enables it (the Scheduler makes it PAUSED when this run ends). A
        trigger that is not running becomes PAUSED; one being killed stays KILLING (an
        INFO log says so).

        A process started by hand (no trigger id) has nothing to pause; an INFO log says
        so instead of failing the run.

        Raises:
            ValueError: the trigger no longer exists.
        """
        if self._trigger_key is None:
            self.log_info(
                "pause_my_trigger() was called, but this process was started without a "
                "trigger id, so there is no trigger to pause."
            )
            return
        trigger_id = self._trigger_key
        try:
            self._patiently(lambda: self._store.pause_trigger_from_process(trigger_id))
        except TransitionRefused as refusal:
            # Being killed already: the kill wins, and the run is not failed for asking.
            self.log_info(f"pause_my_trigger(): {refusal}")

    # --- alerts -------------------------------------------------------------------

    def raise_alert(
        self,
        subject: str,
        text: str,
        attachment: bytes | str | Path | None = None,
        attachment_name: str | None = None,
    ) -> uuid.UUID:
        """Tell the team something, through the alert channels an admin set up.

        The Schedulers' watchdog sends it (email with the attachment, webhooks with its
        name) to the recipients of the 'process_alert' rule and of this process's
        trigger, within a few seconds, retrying while a server is down. Returns the
        alert's id. While that rule is switched off the alert is only recorded.

        `attachment` is the content (bytes) or a file path, for example a screenshot
        PNG; at most 1 MB. `attachment_name` defaults to the file's name.

        Example:
            >>> oc.raise_alert("Invoice portal down", "Login page did not load.",
            ...                attachment="screenshot.png")

        Raises:
            ValueError: empty subject or text, a subject over 250 characters, an
                unreadable file, or an attachment over the size limit.
        """
        # Lazy: the alerts feature is loaded on first use, not with every robot (start-up time).
        from openorch.store.alerts.deliveries import MAX_ATTACHMENT_BYTES

        content: bytes | None = None
        if isinstance(attachment, str | Path):
            path = Path(attachment)
            try:
                size = path.stat().st_size
                if size > MAX_ATTACHMENT_BYTES:
                    raise ValueError(
                        f"attachment is too large: {size} bytes, the limit is "
                        f"{MAX_ATTACHMENT_BYTES}."
                    )
                content = path.read_bytes()
            except OSError as error:
                raise ValueError(f"Cannot read the attachment {path}: {error}") from None
            attachment_name = attachment_name or path.name
        elif attachment is not None:
            content = attachment
        alert = self._store.raise_process_alert(
            self.process_name,
            subject,
            text,
            trigger_id=self.trigger_id,
            job_id=self.job_id,
            attachment=content,
            attachment_name=attachment_name,
        )
        return alert.id

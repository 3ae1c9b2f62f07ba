"""`OrchestratorConnection`: what a process started by the Scheduler uses to log, read
constants and credentials, and work queues.

A connection is an object, not global state: two connections to two databases (or with
two keys) work side by side in one process. It holds no SQL; every call goes through the
data layer (`openorch.store.Store`).
"""

import sys
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from openorch.crypto import Cipher
from openorch.database import (
    Constant,
    Credential,
    JobOutcome,
    Log,
    LogLevel,
    QueueElement,
    QueueStatus,
    TriggerStatus,
)
from openorch.sdk.delegation import documented_by
from openorch.store import Store, describe_connection_error
from openorch.store import validation as v
from openorch.store.engine import connection_problem
from openorch.store.state import TransitionRefused

#: The arguments after the script, as the Scheduler passes them (the last two optional).
ARGUMENTS = (
    "<process_name> <connection_string> <crypto_key> <process_args> [<trigger_id> [<job_id>]]"
)
USAGE = f"python <script.py> {ARGUMENTS}"
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


class OrchestratorConnection:
    """A process's connection to the orchestrator database.

    Example:
        >>> oc = OrchestratorConnection.create_connection_from_args()
        >>> oc.log_info("started")

    Raises:
        ValueError: the key is not a Fernet key, the connection string is malformed, or
            an id is not a UUID.
        ConnectionError: the database cannot be reached (the message says why).
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
        # Checked before connecting, so a bad key is reported as a bad key and not as
        # a database problem; Cipher never repeats the key in its message.
        Cipher(crypto_key)
        self.process_name: str = process_name
        self.process_arguments: str = process_arguments or ""
        self._trigger_key = v.check_optional_uuid("trigger_id", trigger_id)
        self._job_key = v.check_optional_uuid("job_id", job_id)
        #: The ids as UUIDs (None when not given). The `OpenOrchestrator` package's
        #: subclass keeps the strings it was given instead, as the original did.
        self.trigger_id: uuid.UUID | str | None = self._trigger_key
        self.job_id: uuid.UUID | str | None = self._job_key
        self._store = Store(connection_string, crypto_key=crypto_key)
        # Started by a Scheduler (a job id), the database answered moments ago: an
        # unreachable server is most likely a short outage, so wait for it a while
        # rather than fail the job. Started by hand, say what is wrong at once.
        patience = STARTUP_PATIENCE_SECONDS if self._job_key is not None else 0.0
        try:
            _ping_patiently(self._store, connection_string, patience)
        except Exception as error:
            self._store.close()
            raise ConnectionError(
                describe_connection_error(error, connection_string)
            ) from error

    @classmethod
    def create_connection_from_args(cls) -> "OrchestratorConnection":
        """Build a connection from `sys.argv`, as the Scheduler starts processes:

        `script.py process_name connection_string crypto_key process_args [trigger_id [job_id]]`

        Positions 5 (trigger id) and 6 (job id) are optional so a developer can start
        the script by hand with four arguments; an empty string there means "none".

        Raises:
            ValueError: a required argument is missing (the message names it and shows
                the command line), or an argument is invalid.
            ConnectionError: the database cannot be reached.
        """
        args = sys.argv[1:7]
        if len(args) < len(_REQUIRED_ARGS):
            missing = ", ".join(_REQUIRED_ARGS[len(args):])
            script = sys.argv[0] if sys.argv and sys.argv[0] else "<script.py>"
            raise ValueError(
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
        return f"OrchestratorConnection(process_name={self.process_name!r}, job_id={self.job_id})"

    # --- logs ---------------------------------------------------------------------

    def log_trace(self, message: str) -> None:
        """Write a TRACE log row for this process (and job, when known)."""
        self._store.create_log(self.process_name, LogLevel.TRACE, self._job_key, message)

    def log_info(self, message: str) -> None:
        """Write an INFO log row for this process (and job, when known)."""
        self._store.create_log(self.process_name, LogLevel.INFO, self._job_key, message)

    def log_error(self, message: str) -> None:
        """Write an ERROR log row for this process (and job, when known)."""
        self._store.create_log(self.process_name, LogLevel.ERROR, self._job_key, message)

    # --- constants and credentials ------------------------------------------------

    @documented_by(Store.get_constant)
    def get_constant(self, constant_name: str) -> Constant:
        return self._store.get_constant(constant_name)

    def get_credential(self, credential_name: str) -> Credential:
        """The credential called `credential_name`, password decrypted.

        Raises:
            ValueError: no such credential, or the key does not match.
        """
        return self._store.get_credential(credential_name, decrypt_password=True)

    @documented_by(Store.update_constant)
    def update_constant(self, constant_name: str, new_value: str) -> None:
        self._store.update_constant(constant_name, new_value)

    @documented_by(Store.update_credential)
    def update_credential(
        self, credential_name: str, new_username: str, new_password: str
    ) -> None:
        self._store.update_credential(credential_name, new_username, new_password)

    # --- queues -------------------------------------------------------------------

    @documented_by(Store.create_queue_element)
    def create_queue_element(
        self,
        queue_name: str,
        reference: str | None = None,
        data: str | None = None,
        created_by: str | None = None,
    ) -> QueueElement:
        return self._store.create_queue_element(queue_name, reference, data, created_by)

    @documented_by(Store.bulk_create_queue_elements)
    def bulk_create_queue_elements(
        self,
        queue_name: str,
        references: Sequence[str | None],
        data: Sequence[str | None],
        created_by: str | None = None,
    ) -> None:
        self._store.bulk_create_queue_elements(queue_name, references, data, created_by)

    @documented_by(Store.get_next_queue_element)
    def get_next_queue_element(
        self, queue_name: str, reference: str | None = None, set_status: bool = True
    ) -> QueueElement | None:
        return self._store.get_next_queue_element(queue_name, reference, set_status)

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
        return self._store.get_queue_elements(
            queue_name, reference=reference, status=status, from_date=from_date,
            to_date=to_date, offset=offset, limit=limit, order_desc=True,
        )

    @documented_by(Store.set_queue_element_status)
    def set_queue_element_status(
        self, element_id: uuid.UUID | str, status: QueueStatus | str, message: str | None = None
    ) -> None:
        self._store.set_queue_element_status(element_id, status, message)

    @documented_by(Store.delete_queue_element)
    def delete_queue_element(self, element_id: uuid.UUID | str) -> None:
        self._store.delete_queue_element(element_id)

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
        trigger = self._store.get_trigger(self._trigger_key)
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
        try:
            self._store.pause_trigger_from_process(self._trigger_key)
        except TransitionRefused as refusal:
            # Being killed already: the kill wins, and the run is not failed for asking.
            self.log_info(f"pause_my_trigger(): {refusal}")

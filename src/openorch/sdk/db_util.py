"""The original OpenOrchestrator's `db_util`: module-level functions over one default
connection, for old scripts and tools that call them directly.

Every function delegates to the one data layer (`openorch.store.Store`); nothing here
touches SQL. This module is the single place in openorch that keeps a module-level
connection (the old API has nowhere else to put it). Credentials use the key last given
to `crypto_util.set_key`, as in the original. New code should use
`OrchestratorConnection` or `Store`, which are objects and can coexist.
Re-exported as `OpenOrchestrator.database.db_util`.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal, overload

from sqlalchemy.exc import SQLAlchemyError

from openorch.database import (
    Constant,
    Credential,
    Job,
    JobStatus,
    Log,
    LogLevel,
    QueueElement,
    QueueStatus,
    QueueTrigger,
    ScheduledTrigger,
    Scheduler,
    SingleTrigger,
    Trigger,
    TriggerStatus,
)
from openorch.sdk import crypto_util
from openorch.store import Store

__all__ = [
    "begin_queue_trigger",
    "begin_scheduled_trigger",
    "begin_single_trigger",
    "bulk_create_queue_elements",
    "check_database_revision",
    "connect",
    "create_constant",
    "create_credential",
    "create_log",
    "create_queue_element",
    "create_queue_trigger",
    "create_scheduled_trigger",
    "create_single_trigger",
    "delete_constant",
    "delete_credential",
    "delete_queue_element",
    "delete_trigger",
    "disconnect",
    "get_all_triggers",
    "get_conn_string",
    "get_constant",
    "get_constants",
    "get_credential",
    "get_credentials",
    "get_job",
    "get_jobs",
    "get_logs",
    "get_next_queue_element",
    "get_pending_queue_triggers",
    "get_pending_scheduled_triggers",
    "get_pending_single_triggers",
    "get_queue_count",
    "get_queue_element",
    "get_queue_elements",
    "get_queue_triggers",
    "get_scheduled_triggers",
    "get_schedulers",
    "get_single_triggers",
    "get_trigger",
    "get_unique_log_process_names",
    "send_ping_from_scheduler",
    "set_job_status",
    "set_queue_element_status",
    "set_trigger_status",
    "start_job",
    "start_trigger_from_machine",
    "update_constant",
    "update_credential",
    "update_queue_element",
    "update_trigger",
]

_store: Store | None = None
_conn_string: str | None = None
#: The crypto_util key the default store was last given (to notice set_key calls).
_store_key: str | bytes | None = None


# --- connection ---------------------------------------------------------------------


def connect(conn_string: str) -> bool:
    """Connect the default connection to a database; True when it answered.

    A failed attempt leaves nothing connected (as in the original) and returns False
    instead of raising, because the original's callers test the result.
    """
    global _store, _conn_string, _store_key
    disconnect()
    try:
        store = Store(conn_string)
    except ValueError:
        return False
    try:
        store.ping()
    except (SQLAlchemyError, OSError):
        store.close()
        return False
    _store, _conn_string, _store_key = store, conn_string, None
    return True


def disconnect() -> None:
    """Close the default connection (nothing happens when none is open)."""
    global _store, _conn_string, _store_key
    if _store is not None:
        _store.close()
    _store, _conn_string, _store_key = None, None, None


def get_conn_string() -> str | None:
    """The connection string given to `connect`, unmasked (the original's Scheduler
    hands it on to processes); None when not connected."""
    return _conn_string


def _connected() -> Store:
    if _store is None:
        raise RuntimeError(
            "Not connected to the database: call db_util.connect(conn_string) first."
        )
    return _store


def _keyed() -> Store:
    """The default store, holding crypto_util's current key."""
    global _store_key
    store = _connected()
    key = crypto_util.get_key()
    if key != _store_key:
        store.set_key(key)
        _store_key = key
    return store


def check_database_revision() -> bool:
    """True when the database is at the revision this openorch expects."""
    return _connected().check_database_revision()


# --- triggers -----------------------------------------------------------------------


def get_trigger(trigger_id: uuid.UUID | str) -> Trigger:
    """The trigger with this id, as its subclass.

    Raises:
        ValueError: bad id, or no such trigger.
    """
    return _connected().get_trigger(trigger_id)


def get_all_triggers() -> tuple[Trigger, ...]:
    """Every trigger."""
    return _connected().get_all_triggers()


def update_trigger(trigger: Trigger) -> None:
    """Save every field of a trigger object.

    Raises:
        ValueError: a field is invalid, or the trigger no longer exists.
    """
    _connected().update_trigger(trigger)


def get_scheduled_triggers() -> tuple[ScheduledTrigger, ...]:
    """Every scheduled trigger."""
    return _connected().get_scheduled_triggers()


def get_single_triggers() -> tuple[SingleTrigger, ...]:
    """Every single trigger."""
    return _connected().get_single_triggers()


def get_queue_triggers() -> tuple[QueueTrigger, ...]:
    """Every queue trigger."""
    return _connected().get_queue_triggers()


def delete_trigger(trigger_id: uuid.UUID | str) -> None:
    """Delete a trigger.

    Raises:
        ValueError: bad id, or no such trigger.
    """
    _connected().delete_trigger(trigger_id)


def create_single_trigger(
    trigger_name: str,
    process_name: str,
    next_run: datetime,
    process_path: str,
    process_args: str | None,
    is_git_repo: bool,
    is_blocking: bool,
    priority: int,
    scheduler_whitelist: Sequence[str] | None = None,
    git_branch: str | None = None,
) -> uuid.UUID:
    """Create a trigger that runs once at `next_run`; returns its id.

    Raises:
        ValueError: a field is missing, too long or of the wrong type.
    """
    return _connected().create_single_trigger(
        trigger_name, process_name, next_run, process_path, process_args, is_git_repo,
        is_blocking, priority, scheduler_whitelist, git_branch,
    )


def create_scheduled_trigger(
    trigger_name: str,
    process_name: str,
    cron_expr: str,
    next_run: datetime,
    process_path: str,
    process_args: str | None,
    is_git_repo: bool,
    is_blocking: bool,
    priority: int,
    scheduler_whitelist: Sequence[str] | None = None,
    git_branch: str | None = None,
) -> uuid.UUID:
    """Create a trigger that runs on a cron schedule; returns its id.

    Raises:
        ValueError: bad cron expression, or a field is missing, too long or mistyped.
    """
    return _connected().create_scheduled_trigger(
        trigger_name, process_name, cron_expr, next_run, process_path, process_args,
        is_git_repo, is_blocking, priority, scheduler_whitelist, git_branch,
    )


def create_queue_trigger(
    trigger_name: str,
    process_name: str,
    queue_name: str,
    process_path: str,
    process_args: str | None,
    is_git_repo: bool,
    is_blocking: bool,
    min_batch_size: int,
    priority: int,
    scheduler_whitelist: Sequence[str] | None = None,
    git_branch: str | None = None,
) -> uuid.UUID:
    """Create a trigger that runs when a queue fills up; returns its id.

    Raises:
        ValueError: a field is missing, too long or mistyped; min_batch_size < 1.
    """
    return _connected().create_queue_trigger(
        trigger_name, process_name, queue_name, process_path, process_args, is_git_repo,
        is_blocking, min_batch_size, priority, scheduler_whitelist, git_branch,
    )


def get_pending_single_triggers() -> tuple[SingleTrigger, ...]:
    """IDLE single triggers whose time has come."""
    return _connected().get_pending_single_triggers()


def get_pending_scheduled_triggers() -> tuple[ScheduledTrigger, ...]:
    """IDLE scheduled triggers whose next run has come."""
    return _connected().get_pending_scheduled_triggers()


def get_pending_queue_triggers() -> tuple[QueueTrigger, ...]:
    """IDLE queue triggers whose queue holds enough NEW elements."""
    return _connected().get_pending_queue_triggers()


def begin_single_trigger(trigger_id: uuid.UUID | str) -> bool:
    """Move a single trigger from IDLE to RUNNING; False when someone else did first."""
    return _connected().begin_single_trigger(trigger_id)


def begin_scheduled_trigger(trigger_id: uuid.UUID | str) -> bool:
    """Move a scheduled trigger from IDLE to RUNNING and step its next run; False when
    someone else did first."""
    return _connected().begin_scheduled_trigger(trigger_id)


def begin_queue_trigger(trigger_id: uuid.UUID | str) -> bool:
    """Move a queue trigger from IDLE to RUNNING; False when someone else did first."""
    return _connected().begin_queue_trigger(trigger_id)


def set_trigger_status(trigger_id: uuid.UUID | str, status: TriggerStatus | str) -> None:
    """Set a trigger's status.

    Raises:
        ValueError: bad id or status, or no such trigger.
    """
    _connected().set_trigger_status(trigger_id, status)


# --- logs ---------------------------------------------------------------------------


@overload
def get_logs(
    offset: int, limit: int, from_date: datetime | None = ..., to_date: datetime | None = ...,
    process_name: str | None = ..., log_level: LogLevel | str | None = ...,
    job_id: uuid.UUID | str | None = ..., order_by: str | None = ..., order_desc: bool = ...,
    include_count: Literal[False] = ...,
) -> tuple[Log, ...]: ...


@overload
def get_logs(
    offset: int, limit: int, from_date: datetime | None = ..., to_date: datetime | None = ...,
    process_name: str | None = ..., log_level: LogLevel | str | None = ...,
    job_id: uuid.UUID | str | None = ..., order_by: str | None = ..., order_desc: bool = ...,
    *, include_count: Literal[True],
) -> tuple[tuple[Log, ...], int]: ...


def get_logs(
    offset: int,
    limit: int,
    from_date: datetime | None = None,
    to_date: datetime | None = None,
    process_name: str | None = None,
    log_level: LogLevel | str | None = None,
    job_id: uuid.UUID | str | None = None,
    order_by: str | None = None,
    order_desc: bool = True,
    include_count: bool = False,
) -> tuple[Log, ...] | tuple[tuple[Log, ...], int]:
    """A page of logs, newest first; with `include_count`, `(logs, total)`.

    Raises:
        ValueError: bad paging values, level, job id or order column.
    """
    store = _connected()
    if include_count:
        return store.get_logs(
            offset, limit, from_date, to_date, process_name, log_level, job_id, order_by,
            order_desc, include_count=True,
        )
    return store.get_logs(
        offset, limit, from_date, to_date, process_name, log_level, job_id, order_by,
        order_desc,
    )


def create_log(
    process_name: str, level: LogLevel | str, job_id: uuid.UUID | str | None, message: str
) -> Log:
    """Write one log row now (messages over 8000 characters keep head and tail).

    Raises:
        ValueError: bad process name, level or job id.
    """
    return _connected().create_log(process_name, level, job_id, message)


def get_unique_log_process_names() -> tuple[str, ...]:
    """Every distinct process name in the logs, sorted."""
    return _connected().get_unique_log_process_names()


# --- jobs ---------------------------------------------------------------------------


def get_jobs(
    status: JobStatus | str | None = None, process_name: str | None = None
) -> tuple[Job, ...]:
    """Jobs, newest first, optionally filtered.

    Raises:
        ValueError: bad status.
    """
    return _connected().get_jobs(status, process_name)


def start_job(process_name: str, scheduler_name: str) -> Job:
    """Record a process run starting now (RUNNING).

    Raises:
        ValueError: bad names.
    """
    return _connected().start_job(process_name, scheduler_name)


def set_job_status(job_id: uuid.UUID | str, status: JobStatus | str) -> None:
    """Set a job's status (leaving RUNNING stamps end_time).

    Raises:
        ValueError: bad id or status, or no such job.
    """
    _connected().set_job_status(job_id, status)


def get_job(job_id: uuid.UUID | str) -> Job:
    """The job with this id.

    Raises:
        ValueError: bad id, or no such job.
    """
    return _connected().get_job(job_id)


# --- constants and credentials ------------------------------------------------------


def get_constant(name: str) -> Constant:
    """The constant called `name`.

    Raises:
        ValueError: no such constant.
    """
    return _connected().get_constant(name)


def get_constants() -> tuple[Constant, ...]:
    """Every constant, sorted by name."""
    return _connected().get_constants()


def create_constant(name: str, value: str) -> Constant:
    """Create a constant.

    Raises:
        ValueError: a field is invalid, or the name exists.
    """
    return _connected().create_constant(name, value)


def update_constant(name: str, new_value: str) -> None:
    """Give a constant a new value.

    Raises:
        ValueError: bad value, or no such constant.
    """
    _connected().update_constant(name, new_value)


def delete_constant(name: str) -> None:
    """Delete a constant.

    Raises:
        ValueError: no such constant.
    """
    _connected().delete_constant(name)


def get_credential(name: str, decrypt_password: bool = True) -> Credential:
    """The credential called `name`, its password decrypted with crypto_util's key
    unless `decrypt_password` is False.

    Raises:
        ValueError: no such credential, no key set, or the key does not match.
    """
    if not decrypt_password:
        return _connected().get_credential(name, decrypt_password=False)
    return _keyed().get_credential(name, decrypt_password=True)


def get_credentials() -> tuple[Credential, ...]:
    """Every credential, passwords still encrypted."""
    return _connected().get_credentials()


def create_credential(name: str, username: str, password: str) -> Credential:
    """Create a credential, its password encrypted with crypto_util's key.

    Raises:
        ValueError: a field is invalid, no key set, or the name exists.
    """
    return _keyed().create_credential(name, username, password)


def update_credential(name: str, new_username: str, new_password: str) -> None:
    """Replace a credential's username and password (encrypted with crypto_util's key).

    Raises:
        ValueError: a field is invalid, no key set, or no such credential.
    """
    _keyed().update_credential(name, new_username, new_password)


def delete_credential(name: str) -> None:
    """Delete a credential.

    Raises:
        ValueError: no such credential.
    """
    _connected().delete_credential(name)


# --- queues -------------------------------------------------------------------------


def create_queue_element(
    queue_name: str,
    reference: str | None = None,
    data: str | None = None,
    created_by: str | None = None,
) -> QueueElement:
    """Add a NEW element to a queue.

    Raises:
        ValueError: a field is invalid.
    """
    return _connected().create_queue_element(queue_name, reference, data, created_by)


def bulk_create_queue_elements(
    queue_name: str,
    references: Sequence[str | None],
    data: Sequence[str | None],
    created_by: str | None = None,
) -> None:
    """Add one NEW element per (reference, data) pair, all or nothing.

    Raises:
        ValueError: empty or unequal sequences, or any invalid item.
    """
    _connected().bulk_create_queue_elements(queue_name, references, data, created_by)


def get_next_queue_element(
    queue_name: str, reference: str | None = None, set_status: bool = True
) -> QueueElement | None:
    """Claim the oldest NEW element atomically (IN_PROGRESS unless `set_status` is
    False); None when there is none."""
    return _connected().get_next_queue_element(queue_name, reference, set_status)


@overload
def get_queue_elements(
    queue_name: str, reference: str | None = ..., status: QueueStatus | str | None = ...,
    from_date: datetime | None = ..., to_date: datetime | None = ..., offset: int = ...,
    limit: int = ..., search_term: str | None = ..., order_by: str | None = ...,
    order_desc: bool = ..., include_count: Literal[False] = ...,
) -> tuple[QueueElement, ...]: ...


@overload
def get_queue_elements(
    queue_name: str, reference: str | None = ..., status: QueueStatus | str | None = ...,
    from_date: datetime | None = ..., to_date: datetime | None = ..., offset: int = ...,
    limit: int = ..., search_term: str | None = ..., order_by: str | None = ...,
    order_desc: bool = ..., *, include_count: Literal[True],
) -> tuple[tuple[QueueElement, ...], int]: ...


def get_queue_elements(
    queue_name: str,
    reference: str | None = None,
    status: QueueStatus | str | None = None,
    from_date: datetime | None = None,
    to_date: datetime | None = None,
    offset: int = 0,
    limit: int = 100,
    search_term: str | None = None,
    order_by: str | None = None,
    order_desc: bool = False,
    include_count: bool = False,
) -> tuple[QueueElement, ...] | tuple[tuple[QueueElement, ...], int]:
    """A page of a queue, oldest first unless `order_by`/`order_desc` say otherwise;
    with `include_count`, `(elements, total)`.

    Raises:
        ValueError: bad status, paging values or order column.
    """
    store = _connected()
    if include_count:
        return store.get_queue_elements(
            queue_name, reference, status, from_date, to_date, offset, limit, search_term,
            order_by, order_desc, include_count=True,
        )
    return store.get_queue_elements(
        queue_name, reference, status, from_date, to_date, offset, limit, search_term,
        order_by, order_desc,
    )


def get_queue_element(element_id: uuid.UUID | str) -> QueueElement:
    """The element with this id.

    Raises:
        ValueError: bad id, or no such element.
    """
    return _connected().get_queue_element(element_id)


def update_queue_element(
    element_id: uuid.UUID | str,
    reference: str | None = None,
    status: QueueStatus | str | None = None,
    data: str | None = None,
    message: str | None = None,
    created_by: str | None = None,
    created_date: datetime | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
) -> None:
    """Change the given (non-None) fields of an element.

    Raises:
        ValueError: bad id or field, or no such element.
    """
    _connected().update_queue_element(
        element_id, reference, status, data, message, created_by, created_date,
        start_date, end_date,
    )


def get_queue_count() -> dict[str, dict[QueueStatus, int]]:
    """For every queue, the number of elements in each status."""
    return _connected().get_queue_count()


def set_queue_element_status(
    element_id: uuid.UUID | str, status: QueueStatus | str, message: str | None = None
) -> None:
    """Set an element's status (stamping start or end date) and, if given, message.

    Raises:
        ValueError: bad id, status or message, or no such element.
    """
    _connected().set_queue_element_status(element_id, status, message)


def delete_queue_element(element_id: uuid.UUID | str) -> None:
    """Delete an element.

    Raises:
        ValueError: bad id, or no such element.
    """
    _connected().delete_queue_element(element_id)


# --- schedulers ---------------------------------------------------------------------


def get_schedulers() -> tuple[Scheduler, ...]:
    """Every Scheduler that ever sent a heartbeat."""
    return _connected().get_schedulers()


def send_ping_from_scheduler(machine_name: str) -> None:
    """Record a heartbeat from `machine_name` now.

    Raises:
        ValueError: bad machine name.
    """
    _connected().send_ping_from_scheduler(machine_name)


def start_trigger_from_machine(machine_name: str, trigger_name: str) -> None:
    """Record that `machine_name` started `trigger_name` now.

    Raises:
        ValueError: bad names.
    """
    _connected().start_trigger_from_machine(machine_name, trigger_name)


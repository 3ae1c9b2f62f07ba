"""The original OpenOrchestrator's `db_util`: module-level functions over one default
connection, for old scripts and tools that call them directly.

Every function runs the data layer's method of the same name (`openorch.store.Store`) on
the default connection. The data layer is the one source of truth for what a call does:
most functions here are made by `_delegate(Store.method)`, which copies the method's
signature and docstring, so they cannot drift apart. The few written out by hand keep a
behaviour of the original the data layer does not share (lists instead of tuples, counts
without zeros, `update_queue_element`'s "empty means unchanged"), and say so.
tests/compat checks every signature against the real OpenOrchestrator 3.0.0.

This module is the single place in openorch that keeps a module-level connection (the
old API has nowhere else to put it). Credentials use the key last given to
`crypto_util.set_key`, as in the original. New code should use `OrchestratorConnection`
or `Store`, which are objects and can coexist. Re-exported (with the model classes, the
enums and `truncate_message`, as the original's module offered them) as
`OpenOrchestrator.database.db_util`.
"""

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from openorch.database import QueueStatus, QueueTrigger, ScheduledTrigger, SingleTrigger
from openorch.sdk import crypto_util
from openorch.sdk.delegation import documented_by, signature_without_self
from openorch.store import Store
from openorch.store.errors import NotConnected, NotFound

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

P = ParamSpec("P")
R = TypeVar("R")

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
    use_store(store, conn_string)
    return True


def use_store(store: Store, conn_string: str) -> None:
    """Make `store` the default connection (what the original's `OrchestratorConnection`
    does when it is created: scripts call `db_util` after creating one)."""
    global _store, _conn_string, _store_key
    if _store is not None and _store is not store:
        _store.close()
    _store, _conn_string, _store_key = store, conn_string, None


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


def __getattr__(name: str) -> Engine | None:
    # The original's module kept its engine in `_connection_engine`, and its own tests
    # (and some tools) use it for create_all/drop_all.
    if name == "_connection_engine":
        return _store.engine if _store is not None else None
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _connected() -> Store:
    if _store is None:
        raise NotConnected(
            "Not connected to the database: call db_util.connect(conn_string) first."
        )
    return _store


def _keyed() -> Store:
    """The default store, holding crypto_util's current key."""
    global _store_key
    store = _connected()
    key = crypto_util.get_key()
    if key != _store_key:
        # Checked when used, as crypto_util's own functions do: "" is no key (NoKey, a
        # RuntimeError as in the original), a malformed key a ValueError.
        store.set_key(key, check_now=False)
        _store_key = key
    return store


def _delegate(method: Callable[Concatenate[Store, P], R], *, keyed: bool = False) -> Callable[P, R]:
    """A module function that runs `method` on the default connection, with the method's
    name, signature (without `self`) and docstring."""

    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        return method(_keyed() if keyed else _connected(), *args, **kwargs)

    call.__name__ = call.__qualname__ = method.__name__
    call.__doc__ = method.__doc__
    call.__module__ = __name__
    call.__signature__ = signature_without_self(method)  # type: ignore[attr-defined]
    return call


def _same_as(name: str) -> Any:
    """`_delegate` for a method whose overloads (include_count) typing cannot follow."""
    return _delegate(getattr(Store, name))


check_database_revision = _delegate(Store.check_database_revision)

# --- triggers -----------------------------------------------------------------------

get_trigger = _delegate(Store.get_trigger)
get_all_triggers = _delegate(Store.get_all_triggers)
update_trigger = _delegate(Store.update_trigger)
get_scheduled_triggers = _delegate(Store.get_scheduled_triggers)
get_single_triggers = _delegate(Store.get_single_triggers)
get_queue_triggers = _delegate(Store.get_queue_triggers)
delete_trigger = _delegate(Store.delete_trigger)
create_single_trigger = _delegate(Store.create_single_trigger)
create_scheduled_trigger = _delegate(Store.create_scheduled_trigger)
create_queue_trigger = _delegate(Store.create_queue_trigger)
begin_single_trigger = _delegate(Store.begin_single_trigger)
begin_scheduled_trigger = _delegate(Store.begin_scheduled_trigger)
begin_queue_trigger = _delegate(Store.begin_queue_trigger)
set_trigger_status = _delegate(Store.set_trigger_status)


# The original returns lists here (its Scheduler concatenates the three and sorts).


@documented_by(Store.get_pending_single_triggers)
def get_pending_single_triggers() -> list[SingleTrigger]:
    return list(_connected().get_pending_single_triggers())


@documented_by(Store.get_pending_scheduled_triggers)
def get_pending_scheduled_triggers() -> list[ScheduledTrigger]:
    return list(_connected().get_pending_scheduled_triggers())


@documented_by(Store.get_pending_queue_triggers)
def get_pending_queue_triggers() -> list[QueueTrigger]:
    return list(_connected().get_pending_queue_triggers())


# --- logs and jobs ------------------------------------------------------------------

get_logs = _same_as("get_logs")
create_log = _delegate(Store.create_log)
get_unique_log_process_names = _delegate(Store.get_unique_log_process_names)
get_jobs = _same_as("get_jobs")
start_job = _delegate(Store.start_job)
set_job_status = _delegate(Store.set_job_status)
get_job = _delegate(Store.get_job)

# --- constants and credentials ------------------------------------------------------
# Credential calls use crypto_util's current key, as the original's did.

get_constant = _delegate(Store.get_constant)
get_constants = _delegate(Store.get_constants)
create_constant = _delegate(Store.create_constant)
update_constant = _delegate(Store.update_constant)
delete_constant = _delegate(Store.delete_constant)
get_credential = _delegate(Store.get_credential, keyed=True)
get_credentials = _delegate(Store.get_credentials)
create_credential = _delegate(Store.create_credential, keyed=True)
update_credential = _delegate(Store.update_credential, keyed=True)
delete_credential = _delegate(Store.delete_credential)

# --- queues -------------------------------------------------------------------------

create_queue_element = _delegate(Store.create_queue_element)
bulk_create_queue_elements = _delegate(Store.bulk_create_queue_elements)
get_next_queue_element = _delegate(Store.get_next_queue_element)
get_queue_elements = _same_as("get_queue_elements")
get_queue_element = _delegate(Store.get_queue_element)
set_queue_element_status = _delegate(Store.set_queue_element_status)
delete_queue_element = _delegate(Store.delete_queue_element)


@documented_by(Store.update_queue_element)
def update_queue_element(*args: Any, **kwargs: Any) -> None:
    # The original: an empty value leaves the field unchanged (it tested truthiness), and
    # an id that matches no element changes nothing.
    bound = _UPDATE_SIGNATURE.bind(*args, **kwargs)
    values: dict[str, Any] = {name: value or None for name, value in bound.arguments.items()}
    values["element_id"] = bound.arguments["element_id"]
    try:
        _connected().update_queue_element(**values)
    except NotFound:
        return


_UPDATE_SIGNATURE = signature_without_self(Store.update_queue_element)
update_queue_element.__signature__ = _UPDATE_SIGNATURE  # type: ignore[attr-defined]


@documented_by(Store.get_queue_count)
def get_queue_count() -> dict[str, dict[QueueStatus, int]]:
    # The original lists only the statuses a queue has elements in.
    return {
        queue: {status: count for status, count in counts.items() if count}
        for queue, counts in _connected().get_queue_count().items()
    }


# --- schedulers ---------------------------------------------------------------------

get_schedulers = _delegate(Store.get_schedulers)
send_ping_from_scheduler = _delegate(Store.send_ping_from_scheduler)
start_trigger_from_machine = _delegate(Store.start_trigger_from_machine)

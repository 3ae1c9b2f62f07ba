"""The original OpenOrchestrator's `db_util`: module-level functions over one default
connection, for old scripts and tools that call them directly.

Every function runs the data layer's method of the same name (`openorch.store.Store`) on
the default connection. The data layer is the one source of truth for what a call does:
most functions here are made by `_delegate(Store.method)` on first access (`_DELEGATED`),
which copies the method's signature and docstring, so they cannot drift apart. The few
written out by hand keep a behaviour of the original the data layer does not share
(lists instead of tuples, counts without zeros, `update_queue_element`'s "empty means
unchanged"), and say so.
tests/compat checks every signature against the real OpenOrchestrator 3.0.0.

This module is the single place in openorch that keeps a module-level connection (the
old API has nowhere else to put it). Credentials use the key last given to
`crypto_util.set_key`, as in the original. New code should use `OrchestratorConnection`
or `Store`, which are objects and can coexist. Re-exported (with the model classes, the
enums and `truncate_message`, as the original's module offered them) as
`OpenOrchestrator.database.db_util`.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

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


def __getattr__(name: str) -> Any:
    # The original's module kept its engine in `_connection_engine`, and its own tests
    # (and some tools) use it for create_all/drop_all.
    if name == "_connection_engine":
        return _store.engine if _store is not None else None
    made: Callable[..., Any]
    if name in _DELEGATED:
        made = _delegate(getattr(Store, name), keyed=_DELEGATED[name])
    elif name in _UNTYPED:
        made = _same_as(name)
    elif name in _PENDING:
        made = _pending(name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = made  # made once: later lookups find it directly
    return made


def __dir__() -> list[str]:
    """The module's names, the functions not made yet included."""
    return sorted({*globals(), *_DELEGATED, *_UNTYPED, *_PENDING})


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


# --- the delegated functions ---------------------------------------------------------

#: Every function that only runs a `Store` method on the default connection, made
#: on first access (`__getattr__`): the data layer loads its trigger, calendar and
#: Scheduler mixins on first use (store/features.py), and building some forty wrappers
#: (their signatures) cost every robot process's start-up. True: the call needs
#: crypto_util's current key (as the original's credential calls did).
_DELEGATED: dict[str, bool] = {
    "begin_queue_trigger": False,
    "begin_scheduled_trigger": False,
    "begin_single_trigger": False,
    "bulk_create_queue_elements": False,
    "check_database_revision": False,
    "create_constant": False,
    "create_credential": True,
    "create_log": False,
    "create_queue_element": False,
    "create_queue_trigger": False,
    "create_scheduled_trigger": False,
    "create_single_trigger": False,
    "delete_constant": False,
    "delete_credential": False,
    "delete_queue_element": False,
    "delete_trigger": False,
    "get_all_triggers": False,
    "get_constant": False,
    "get_constants": False,
    "get_credential": True,
    "get_credentials": False,
    "get_job": False,
    "get_next_queue_element": False,
    "get_queue_element": False,
    "get_queue_triggers": False,
    "get_scheduled_triggers": False,
    "get_schedulers": False,
    "get_single_triggers": False,
    "get_trigger": False,
    "get_unique_log_process_names": False,
    "send_ping_from_scheduler": False,
    "set_job_status": False,
    "set_queue_element_status": False,
    "set_trigger_status": False,
    "start_job": False,
    "start_trigger_from_machine": False,
    "update_constant": False,
    "update_credential": True,
    "update_trigger": False,
}

#: Methods whose overloads (include_count) typing cannot follow: the same, untyped.
_UNTYPED = frozenset({"get_logs", "get_jobs", "get_queue_elements"})

# The original returns lists here (its Scheduler concatenates the three and sorts).
_PENDING = frozenset(
    {"get_pending_single_triggers", "get_pending_scheduled_triggers", "get_pending_queue_triggers"}
)

if TYPE_CHECKING:
    begin_queue_trigger = _delegate(Store.begin_queue_trigger)
    begin_scheduled_trigger = _delegate(Store.begin_scheduled_trigger)
    begin_single_trigger = _delegate(Store.begin_single_trigger)
    bulk_create_queue_elements = _delegate(Store.bulk_create_queue_elements)
    check_database_revision = _delegate(Store.check_database_revision)
    create_constant = _delegate(Store.create_constant)
    create_credential = _delegate(Store.create_credential)
    create_log = _delegate(Store.create_log)
    create_queue_element = _delegate(Store.create_queue_element)
    create_queue_trigger = _delegate(Store.create_queue_trigger)
    create_scheduled_trigger = _delegate(Store.create_scheduled_trigger)
    create_single_trigger = _delegate(Store.create_single_trigger)
    delete_constant = _delegate(Store.delete_constant)
    delete_credential = _delegate(Store.delete_credential)
    delete_queue_element = _delegate(Store.delete_queue_element)
    delete_trigger = _delegate(Store.delete_trigger)
    get_all_triggers = _delegate(Store.get_all_triggers)
    get_constant = _delegate(Store.get_constant)
    get_constants = _delegate(Store.get_constants)
    get_credential = _delegate(Store.get_credential)
    get_credentials = _delegate(Store.get_credentials)
    get_job = _delegate(Store.get_job)
    get_next_queue_element = _delegate(Store.get_next_queue_element)
    get_queue_element = _delegate(Store.get_queue_element)
    get_queue_triggers = _delegate(Store.get_queue_triggers)
    get_scheduled_triggers = _delegate(Store.get_scheduled_triggers)
    get_schedulers = _delegate(Store.get_schedulers)
    get_single_triggers = _delegate(Store.get_single_triggers)
    get_trigger = _delegate(Store.get_trigger)
    get_unique_log_process_names = _delegate(Store.get_unique_log_process_names)
    send_ping_from_scheduler = _delegate(Store.send_ping_from_scheduler)
    set_job_status = _delegate(Store.set_job_status)
    set_queue_element_status = _delegate(Store.set_queue_element_status)
    set_trigger_status = _delegate(Store.set_trigger_status)
    start_job = _delegate(Store.start_job)
    start_trigger_from_machine = _delegate(Store.start_trigger_from_machine)
    update_constant = _delegate(Store.update_constant)
    update_credential = _delegate(Store.update_credential)
    update_trigger = _delegate(Store.update_trigger)
    get_logs = _same_as("get_logs")
    get_jobs = _same_as("get_jobs")
    get_queue_elements = _same_as("get_queue_elements")

    def get_pending_single_triggers() -> list[SingleTrigger]: ...
    def get_pending_scheduled_triggers() -> list[ScheduledTrigger]: ...
    def get_pending_queue_triggers() -> list[QueueTrigger]: ...


def _pending(name: str) -> Callable[[], list[Any]]:
    """`get_pending_*_triggers` as the original has them: no arguments, a list."""

    def call() -> list[Any]:
        return list(getattr(_connected(), name)())

    call.__name__ = call.__qualname__ = name
    call.__doc__ = getattr(Store, name).__doc__
    call.__module__ = __name__
    return call


# --- written out by hand -------------------------------------------------------------


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

"""Every write the Orchestrator makes leaves one row in the audit trail: this module is
where that happens, for all of them at once.

The page reaches the data layer only through `ClientStore.store`, which hands out an
`AuditedStore`: the real `Store` behind a thin wrapper. Reads pass straight through.
Each write method the Orchestrator may call is listed in `AUDITED` with what to record
(action, object, before and after); calling it reads the object before, writes, reads
it after and records one row naming `current_identity()`. A write method the
Orchestrator has no business calling (the Scheduler's, the SDK's) is refused, and a
unit test fails when a new `Store` method is in none of the three lists, so a new write
cannot reach the page without being audited.

The identity is taken when the page takes the method (`store.create_constant`), on the
event loop that handles the browser's event, not in the worker thread that runs the
call: hand `off_loop` the bound method, never a lambda that looks it up later.
"""

import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, cast

from openorch.identity import Identity
from openorch.orchestrator.who import current_identity
from openorch.store import Store

#: The named arguments of one call (bound to the method's signature, defaults applied).
Args = Mapping[str, Any]


class NotAudited(RuntimeError):
    """A write the Orchestrator may not make: it would leave no audit row."""


@dataclass(frozen=True)
class Audited:
    """How one write method is recorded.

    `before(store, args)` reads the object before the write (an ORM row or a mapping;
    None when there is none), `after(store, args, result)` after it; `target(args,
    result, before, after)` names the object (id, name); `summary` says it in words.
    `action` may depend on the arguments and on whether there was an object before
    (`action(args, before)`: create or update).
    """

    action: str | Callable[[Args, Any], str]
    kind: str
    target: Callable[[Args, Any, Any, Any], tuple[object, str | None]]
    before: Callable[[Store, Args], Any] | None = None
    after: Callable[[Store, Args, Any], Any] | None = None
    summary: Callable[[Args, Any, Any, Any], str | None] | None = None


# --- readers --------------------------------------------------------------------


def _quietly(read: Callable[[], Any]) -> Any:
    """The object `read` returns; None when there is none (the write then says why)."""
    try:
        return read()
    except ValueError:
        return None


def _trigger(key: str) -> Callable[..., Any]:
    def read(store: Store, args: Args, *_result: Any) -> Any:
        value = args[key]
        trigger_id: Any = getattr(value, "id", value)
        return _quietly(lambda: store.get_trigger(trigger_id))

    return read


def _created_trigger(store: Store, _args: Args, result: Any) -> Any:
    return store.get_trigger(result)


def _constant(store: Store, args: Args, *_result: Any) -> Any:
    return _quietly(lambda: store.get_constant(args["name"]))


def _credential(store: Store, args: Args, *_result: Any) -> Any:
    # Never decrypted: the snapshot shows only that a password is set.
    return _quietly(lambda: store.get_credential(args["name"], False))


def _element(store: Store, args: Args, *_result: Any) -> Any:
    return _quietly(lambda: store.get_queue_element(args["element_id"]))


def _review_item(store: Store, args: Args, *_result: Any) -> Any:
    entry = _quietly(lambda: store.get_review_item(args["item_id"]))
    return None if entry is None else entry.item


def _review_target(args: Args, result: Any, before: Any, after: Any) -> tuple[object, str | None]:
    row = after if after is not None else before
    return _field(row, "id") or args.get("item_id"), _field(row, "queue_name")


def _queue_settings(store: Store, args: Args, *_result: Any) -> Any:
    return _quietly(lambda: store.get_queue_settings(args["queue_name"]))


def _calendar(store: Store, args: Args, *_result: Any) -> Any:
    wanted = str(args["calendar_id"])
    found = [item for item in store.get_calendars() if str(item.id) == wanted]
    if not found:
        return None
    summary = found[0]
    days = _quietly(lambda: store.get_calendar_days(summary.id)) or ()
    return {
        "id": summary.id,
        "name": summary.name,
        "days": [day.day for day in days],
    }


def _token(store: Store, args: Args, *_result: Any) -> Any:
    wanted = str(args["token_id"])
    return next((token for token in store.get_api_tokens() if str(token.id) == wanted), None)


def _channel(store: Store, args: Args, *_result: Any) -> Any:
    return _quietly(lambda: store.get_alert_channel(args["name"]))


def _rule(store: Store, args: Args, *_result: Any) -> Any:
    return _quietly(lambda: store.get_alert_rule(args["kind"]))


def _recipients(store: Store, args: Args, *_result: Any) -> Any:
    return next(
        (
            row
            for row in store.get_alert_recipients()
            if row.scope == args["scope"] and row.name == args["name"]
        ),
        None,
    )


def _result(_store: Store, _args: Args, result: Any) -> Any:
    return result


# --- object names ----------------------------------------------------------------


def _field(row: Any, name: str) -> Any:
    if row is None:
        return None
    if isinstance(row, Mapping):
        return row.get(name)
    return getattr(row, name, None)


def _trigger_target(args: Args, result: Any, before: Any, after: Any) -> tuple[object, str | None]:
    row = after if after is not None else before
    trigger = args.get("trigger")
    key = _field(row, "id") or getattr(trigger, "id", None) or args.get("trigger_id") or result
    name = _field(row, "trigger_name") or args.get("trigger_name")
    return key, name


def _named(key: str) -> Callable[[Args, Any, Any, Any], tuple[object, str | None]]:
    return lambda args, *_rest: (args[key], str(args[key]))


def _element_target(args: Args, result: Any, before: Any, after: Any) -> tuple[object, str | None]:
    row = after if after is not None else before
    if row is None:
        row = result
    key = _field(row, "id") or args.get("element_id")
    queue = _field(row, "queue_name") or args.get("queue_name")
    reference = _field(row, "reference")
    return key, f"{queue}: {reference}" if reference else queue


def _calendar_target(args: Args, result: Any, before: Any, after: Any) -> tuple[object, str | None]:
    row = before or after
    key = args.get("calendar_id") or result
    return key, _field(row, "name") or args.get("name")


def _token_target(args: Args, result: Any, before: Any, after: Any) -> tuple[object, str | None]:
    row = after if after is not None else before
    return _field(row, "id") or args.get("token_id"), _field(row, "name") or args.get("name")


def _status_change(_args: Args, result: Any, before: Any, _after: Any) -> str:
    old = _field(before, "process_status")
    old_name = getattr(old, "name", old)
    return f"status {old_name} -> {getattr(result, 'name', result)}"


def _count(verb: str) -> Callable[[Args, Any, Any, Any], str]:
    return lambda _args, result, *_rest: f"{result} {verb}"


# --- what each write records --------------------------------------------------------

_CREATE_TRIGGER = Audited("trigger.create", "trigger", _trigger_target, after=_created_trigger)

#: Every write the Orchestrator makes, by `Store` method name.
AUDITED: Mapping[str, Audited] = {
    # Triggers
    "create_single_trigger": _CREATE_TRIGGER,
    "create_scheduled_trigger": _CREATE_TRIGGER,
    "create_queue_trigger": _CREATE_TRIGGER,
    "update_trigger": Audited(
        "trigger.update",
        "trigger",
        _trigger_target,
        before=_trigger("trigger"),
        after=_trigger("trigger"),
    ),
    "delete_trigger": Audited(
        "trigger.delete", "trigger", _trigger_target, before=_trigger("trigger_id")
    ),
    "enable_trigger": Audited(
        "trigger.enable",
        "trigger",
        _trigger_target,
        before=_trigger("trigger_id"),
        after=_trigger("trigger_id"),
        summary=_status_change,
    ),
    "disable_trigger": Audited(
        "trigger.pause",
        "trigger",
        _trigger_target,
        before=_trigger("trigger_id"),
        after=_trigger("trigger_id"),
        summary=_status_change,
    ),
    "kill_trigger": Audited(
        "trigger.kill",
        "trigger",
        _trigger_target,
        before=_trigger("trigger_id"),
        after=_trigger("trigger_id"),
        summary=_status_change,
    ),
    # Constants and credentials
    "create_constant": Audited("constant.create", "constant", _named("name"), after=_result),
    "update_constant": Audited(
        "constant.update", "constant", _named("name"), before=_constant, after=_constant
    ),
    "delete_constant": Audited("constant.delete", "constant", _named("name"), before=_constant),
    "create_credential": Audited(
        "credential.create", "credential", _named("name"), after=_credential
    ),
    "update_credential": Audited(
        "credential.update",
        "credential",
        _named("name"),
        before=_credential,
        after=_credential,
        summary=lambda *_: "user name and password set again",
    ),
    "delete_credential": Audited(
        "credential.delete", "credential", _named("name"), before=_credential
    ),
    # Queues
    "create_queue_element": Audited(
        "queue_element.create", "queue_element", _element_target, after=_result
    ),
    "update_queue_element": Audited(
        "queue_element.update",
        "queue_element",
        _element_target,
        before=_element,
        after=_element,
    ),
    "set_queue_element_status": Audited(
        "queue_element.set_status",
        "queue_element",
        _element_target,
        summary=lambda args, *_: f"status set to {getattr(args['status'], 'name', args['status'])}",
        before=_element,
        after=_element,
    ),
    "edit_queue_element": Audited(
        "queue_element.update",
        "queue_element",
        _element_target,
        before=_element,
        after=_element,
    ),
    # Retention
    "set_retention_policy": Audited(
        "retention.policy",
        "retention_policy",
        lambda *_: ("policy", "retention policy"),
        before=lambda store, *_: store.get_retention_policy(),
        after=lambda _store, _args, result: result,
    ),
    # Review
    "assign_review_item": Audited(
        "review.assign",
        "review_item",
        _review_target,
        before=_review_item,
        after=_review_item,
        summary=lambda args, *_: f"assigned to {args['assignee'] or 'nobody'}",
    ),
    "decide_review_item": Audited(
        "review.decide",
        "review_item",
        _review_target,
        before=_review_item,
        after=_review_item,
        summary=lambda args, *_: f"decided {args['decision']}",
    ),
    "decide_review_items": Audited(
        "review.decide_many",
        "review",
        lambda args, *_: (getattr(args["review_filter"], "queue", None) or "all queues",) * 2,
        after=lambda _store, args, result: {
            "decision": args["decision"],
            "comment": args.get("comment"),
            "filter": repr(args.get("review_filter")),
            "decided": result,
        },
        summary=lambda args, result, *_: f"{args['decision']}: {result} items",
    ),
    "release_queue_element": Audited(
        "queue_element.release",
        "queue_element",
        _element_target,
        summary=lambda _args, result, *_: f"released: {getattr(result, 'name', result)}",
        before=_element,
        after=_element,
    ),
    "delete_queue_element": Audited(
        "queue_element.delete", "queue_element", _element_target, before=_element
    ),
    "apply_queue_action": Audited(
        lambda args, _before: f"queue.bulk_{args['action']}",
        "queue",
        _named("queue_name"),
        after=lambda _store, args, result: {
            "action": args["action"],
            "filters": dict(args.get("filters") or {}),
            "changed": result,
        },
        summary=lambda args, result, *_: f"{args['action']}: {result} elements",
    ),
    "set_queue_settings": Audited(
        "queue.settings",
        "queue",
        _named("queue_name"),
        before=_queue_settings,
        after=_result,
    ),
    # Calendars
    "create_calendar": Audited(
        "calendar.create",
        "calendar",
        _calendar_target,
        after=lambda _store, args, result: {"id": result, "name": args["name"]},
    ),
    "add_calendar_days": Audited(
        "calendar.add_days",
        "calendar",
        _calendar_target,
        before=_calendar,
        after=_calendar,
        summary=_count("days added"),
    ),
    "fill_public_holidays": Audited(
        "calendar.fill_holidays",
        "calendar",
        _calendar_target,
        before=_calendar,
        after=_calendar,
        summary=lambda args, result, *_: (
            f"{result} holidays of {args['country']} added for {list(args['years'])}"
        ),
    ),
    "remove_calendar_days": Audited(
        "calendar.remove_days",
        "calendar",
        _calendar_target,
        before=_calendar,
        after=_calendar,
        summary=_count("days removed"),
    ),
    "delete_calendar": Audited("calendar.delete", "calendar", _calendar_target, before=_calendar),
    # API tokens (the secret is in the result; only the token row is recorded)
    "create_api_token": Audited(
        "api_token.create",
        "api_token",
        _token_target,
        after=lambda _store, _args, result: result[0],
    ),
    "revoke_api_token": Audited(
        "api_token.revoke", "api_token", _token_target, before=_token, after=_token
    ),
    # Alerts
    "save_alert_channel": Audited(
        lambda _args, before: (
            "alert_channel.update" if before is not None else "alert_channel.create"
        ),
        "alert_channel",
        _named("name"),
        before=_channel,
        after=_result,
    ),
    "delete_alert_channel": Audited(
        "alert_channel.delete", "alert_channel", _named("name"), before=_channel
    ),
    "save_alert_rule": Audited(
        "alert_rule.update", "alert_rule", _named("kind"), before=_rule, after=_result
    ),
    "set_alert_recipients": Audited(
        "alert_recipients.set",
        "alert_recipients",
        lambda args, *_: (f"{args['scope']}:{args['name']}", str(args["name"])),
        before=_recipients,
        after=_recipients,
    ),
}

#: Writes of the Scheduler, the SDK, the API and the alert watchdog: the Orchestrator
#: never makes them, and `AuditedStore` refuses them.
UNAUDITED_WRITES = frozenset(
    {
        "acquire_watchdog_lease",
        "adopt_pipeline_element",
        "compact_queue_counts",  # the watchdog's lease holder folds count deltas
        "index_search_backlog",  # the watchdog's lease holder makes search documents
        "finish_prune_run",  # the pruner (Scheduler lease holder or `openorch prune`)
        "fold_job_counters",  # the watchdog's lease holder
        "prune_by_policy",
        "record_prune_result",
        "start_prune_run",
        "request_pipeline_review",  # a robot's pipeline step (wait_for_review)
        "rebuild_search_index",  # maintenance (openorch's own index), not an admin's edit
        "authenticate_api_token",  # stamps last_used_at
        "begin_pipeline_part",
        "begin_queue_trigger",
        "begin_run_request",
        "begin_scheduled_trigger",
        "begin_single_trigger",
        "begin_trigger",
        "begin_trigger_run",
        "bulk_create_queue_elements",
        "cancel_run_request",
        "change_trigger_status",
        "claim_due_deliveries",
        "close_alert",
        "correct_next_runs",
        "create_log",
        "end_job",
        "end_job_after_exit",
        "end_leftover_jobs",
        "fail_jobs_of_dead_schedulers",
        "fail_pipeline_element",
        "fail_pipeline_part",
        "finish_delivery",
        "finish_pipeline_part",
        "get_next_queue_element",  # claims an element
        "heartbeat",
        "open_alert",
        "pause_trigger_from_process",
        "prune",
        "raise_process_alert",
        "record_api_write",
        "record_audit",  # the wrapper's own; a page never writes audit rows itself
        "record_job_process",
        "register_run",
        "release_watchdog_lease",
        "remind_alert",
        "report_job_outcome",
        "request_run",
        "retry_queue_element",
        "send_ping_from_scheduler",
        "set_engine_state",
        "set_job_status",
        "set_trigger_status",
        "start_job",
        "start_trigger_from_machine",
        "time_out_pipeline_part",
        "touch_alerts",
        "wait_pipeline_part",
    }
)

#: Everything else `Store` offers: reads, and handling the store itself (closing it,
#: its key). Passed through as they are.
PASSED_THROUGH = frozenset(
    {
        "audit_snapshot",
        "check_database_revision",
        "cipher",
        "close",
        "count_queue_action",
        "claim_counts",
        "count_queues_by_scan",
        "count_review_items",
        "history_actor",
        "indexes_in_background",
        "list_review_items",
        "review_backlog",
        "review_waiting_by_queue",
        "current_revision",
        "database_now",
        "database_utc_now",
        "describe_alert_channel",
        "dialect",
        "key_matches",
        "open",
        "ping",
        "preview_next_runs",
        "recipients_for",
        "revisions",
        "set_key",
    }
)


def is_read(name: str) -> bool:
    """A `Store` method that only reads: in PASSED_THROUGH, or a `get_...` that is not a
    claim listed in UNAUDITED_WRITES."""
    if name in UNAUDITED_WRITES or name in AUDITED:
        return False
    return name in PASSED_THROUGH or name.startswith("get_")


def _bound(method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Args:
    """The call's arguments by name, defaults filled in (`**filters` as one dict)."""
    bound = inspect.signature(method).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


@dataclass
class _Write:
    """One audited call as it happened (kept while a `one_row` block runs)."""

    spec: Audited
    named: Args
    result: Any
    before: Any
    after: Any

    @property
    def summary(self) -> str | None:
        if self.spec.summary is None:
            return None
        return self.spec.summary(self.named, self.result, self.before, self.after)


class AuditedStore:
    """A `Store` whose writes are recorded in the audit trail as `identity`'s.

    Hand it out typed as `Store` (`audited(store)`): it offers the same methods. The
    identity is asked for when the wrapper is made (on the event loop, where the page's
    `.store` is taken); if it cannot be known there, when a write is made.
    """

    def __init__(self, store: Store, identity: Callable[[], Identity] = current_identity) -> None:
        self._store = store
        self._identity = identity
        try:
            self._who: Identity | None = identity()
        except Exception:  # taken off the event loop (a table's fetcher): reads need none
            self._who = None
        #: The writes of the `one_row` block running now (None: no block).
        self._group: list[_Write] | None = None

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        spec = AUDITED.get(name)
        if spec is not None:
            return self._recording(name, value, spec, self._who or self._identity())
        if name in UNAUDITED_WRITES:
            raise NotAudited(
                f"{name} is not something the Orchestrator does: it would leave no audit row "
                "(add it to orchestrator/audited_store.AUDITED)."
            )
        return value

    def _recording(
        self, name: str, method: Callable[..., Any], spec: Audited, who: Identity
    ) -> Callable[..., Any]:
        store = self._store

        def call(*args: Any, **kwargs: Any) -> Any:
            named = _bound(method, args, kwargs)
            before = spec.before(store, named) if spec.before else None
            result = method(*args, **kwargs)
            after = spec.after(store, named, result) if spec.after else None
            write = _Write(spec, named, result, before, after)
            if self._group is not None:
                self._group.append(write)
            else:
                self._record(who, [write], None)
            return result

        call.__name__ = name
        call.__doc__ = method.__doc__
        return call

    def _record(self, who: Identity, writes: list[_Write], action: str | None) -> None:
        """One row for `writes` (one, or a `one_row` block's): the first one's object
        and before, the last one's after."""
        first, last = writes[0], writes[-1]
        spec = first.spec
        object_id, object_name = spec.target(first.named, first.result, first.before, last.after)
        if action is None:
            action = (
                spec.action
                if isinstance(spec.action, str)
                else spec.action(first.named, first.before)
            )
        summaries = [text for text in (write.summary for write in writes) if text]
        self._store.record_audit(
            actor=who.label,
            actor_method=who.method,
            actor_role=who.role,
            action=action,
            object_kind=spec.kind,
            object_id=object_id,
            object_name=object_name,
            summary="; ".join(summaries) or None,
            before=self._store.audit_snapshot(first.before),
            after=self._store.audit_snapshot(last.after),
        )

    @contextmanager
    def _one_row(self, action: str) -> Iterator[None]:
        if self._group is not None:
            raise RuntimeError("one_row blocks do not nest")
        who = self._who or self._identity()
        self._group = []
        try:
            yield
        finally:
            writes, self._group = self._group, None
            if writes:  # what was written is recorded, even when a later write failed
                self._record(who, writes, action)


def audited(store: Store, identity: Callable[[], Identity] = current_identity) -> Store:
    """`store` with every Orchestrator write recorded (typed as the `Store` it wraps)."""
    return cast(Store, AuditedStore(store, identity))


def one_row(store: Store, action: str) -> AbstractContextManager[None]:
    """Record the audited writes made on `store` inside the block as one row, `action`:
    one thing the person did that takes several data-layer calls (saving a queue
    element whose status and fields both changed). Every write must touch the same
    object; the row has the first one's before and the last one's after."""
    wrapped = _audited_of(store)
    if wrapped is None:
        raise TypeError("one_row needs the page's audited store (ClientStore.store)")
    return wrapped._one_row(action)


def _audited_of(store: object) -> "AuditedStore | None":
    """The AuditedStore inside the page's store (which a role check wraps in turn:
    client_store.RoleCheckedStore), or None."""
    while store is not None and not isinstance(store, AuditedStore):
        store = getattr(store, "_store", None) if not isinstance(store, Store) else None
    return store


def record_event(
    store: Store,
    action: str,
    kind: str,
    *,
    object_id: object = None,
    object_name: str | None = None,
    summary: str | None = None,
    who: Identity,
) -> None:
    """Record an Orchestrator action that is no database write (signing every browser
    out) as `who`'s (take `current_identity()` on the event loop, before `off_loop`)."""
    audited_store = _audited_of(store)
    real = audited_store._store if audited_store is not None else store
    real.record_audit(
        actor=who.label,
        actor_method=who.method,
        actor_role=who.role,
        action=action,
        object_kind=kind,
        object_id=object_id,
        object_name=object_name,
        summary=summary,
    )

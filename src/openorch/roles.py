"""What each role may do: the one table the Orchestrator's page checks every action with.

Roles are ordered (`identity.ROLES`): each may do what the roles below it may, so a
permission is just the least role that holds it. The page's data layer
(`orchestrator.client_store.RoleCheckedStore`) looks up every data-layer call here
before it runs, and the few actions that are not data-layer calls (connecting the page
to another database, signing every browser out) call `check` themselves. Buttons a role
may not use are hidden with `may`, but hiding is only a courtesy: the check is the rule.

- **viewer** reads everything except secrets (a credential's password, an alert
  channel's webhook URL in clear);
- **reviewer** also decides review items;
- **operator** also runs, pauses, enables and kills triggers, adds queue elements,
  retries and releases them;
- **admin** does everything: triggers, credentials, constants, calendars, alerts, queue
  settings, API tokens, deleting and editing, sign-in settings.

A data-layer method not named here is admin-only: a new write is refused to everyone
else until someone decides who may do it.
"""

from collections.abc import Mapping
from typing import Any

from openorch.identity import ROLES, Identity

#: Actions and the least role allowed each.
READ = "read"
DECIDE_REVIEWS = "decide review items"
CONTROL_TRIGGERS = "run, pause, enable or kill triggers"
ADD_QUEUE_ELEMENTS = "add queue elements"
FIX_QUEUE_ELEMENTS = "retry or release queue elements"
READ_SECRETS = "read secrets"
ADMINISTER = "change the Orchestrator's set-up"
CONNECT_ELSEWHERE = "connect the page to another database, or with another key or password"
SIGN_OUT_EVERYONE = "sign every browser out"

LEAST_ROLE: Mapping[str, str] = {
    READ: "viewer",
    DECIDE_REVIEWS: "reviewer",
    CONTROL_TRIGGERS: "operator",
    ADD_QUEUE_ELEMENTS: "operator",
    FIX_QUEUE_ELEMENTS: "operator",
    READ_SECRETS: "admin",
    ADMINISTER: "admin",
    CONNECT_ELSEWHERE: "admin",
    SIGN_OUT_EVERYONE: "admin",
}

#: Data-layer reads that reveal no secret (every role may call them).
READ_METHODS = frozenset(
    {
        "check_database_revision",
        "count_queue_action",
        "count_queues_by_scan",
        "count_review_items",
        "current_revision",
        "database_now",
        "database_utc_now",
        "describe_alert_channel",
        "get_alert_deliveries",
        "get_alert_recipients",
        "get_alert_rule",
        "get_alert_rules",
        "get_alert_channels",
        "get_alerts",
        "get_all_queue_settings",
        "get_all_triggers",
        "get_api_audit",
        "get_api_tokens",
        "get_audit",
        "get_audit_choices",
        "get_audit_entry",
        "get_badly_ended_jobs",
        "get_calendar_days",
        "get_calendars",
        "get_constant",
        "get_constants",
        "get_credentials",
        "get_element_history",
        "get_failure_reasons",
        "get_job",
        "get_job_trigger_statuses",
        "get_job_counters",
        "get_jobs",
        "get_leftover_jobs",
        "get_logs",
        "get_metric_figures",
        "get_next_run_time",
        "get_oldest_new_elements",
        "get_open_review_for_element",
        "get_open_alerts",
        "get_overdue_triggers",
        "get_overview",
        "get_pending_queue_triggers",
        "get_pending_run_requests",
        "get_pending_scheduled_triggers",
        "get_pending_single_triggers",
        "get_pipeline_history",
        "get_pipeline_run",
        "get_pipeline_steps",
        "get_pipeline_view",
        "get_prune_runs",
        "get_prune_totals",
        "get_queue_count",
        "get_queue_element",
        "get_queue_elements",
        "get_queue_names",
        "get_queue_overview",
        "get_queue_settings",
        "get_queue_triggers",
        "get_queues_past_deadline",
        "get_recent_queue_failures",
        "get_retention_policy",
        "get_review_item",
        "get_run_holder",
        "get_run_request",
        "get_run_requests",
        "get_scheduled_triggers",
        "get_scheduler_health",
        "get_schedulers",
        "get_single_triggers",
        "get_stopped_triggers",
        "get_table_sizes",
        "get_trigger",
        "get_trigger_next_runs",
        "get_trigger_statuses",
        "get_unique_job_process_names",
        "get_unique_log_process_names",
        "get_watchdog_lease",
        "key_matches",
        "list_review_items",
        "ping",
        "preview_next_runs",
        "review_backlog",
        "review_waiting_by_queue",
        "revisions",
    }
)

#: Data-layer writes below admin, by the action they are.
WRITE_METHODS: Mapping[str, str] = {
    "enable_trigger": CONTROL_TRIGGERS,
    "disable_trigger": CONTROL_TRIGGERS,
    "kill_trigger": CONTROL_TRIGGERS,
    "request_run": CONTROL_TRIGGERS,
    "cancel_run_request": CONTROL_TRIGGERS,
    "create_queue_element": ADD_QUEUE_ELEMENTS,
    "bulk_create_queue_elements": ADD_QUEUE_ELEMENTS,
    "retry_queue_element": FIX_QUEUE_ELEMENTS,
    "release_queue_element": FIX_QUEUE_ELEMENTS,
    "assign_review_item": DECIDE_REVIEWS,
}

#: Prefix of the review inbox's decisions (issue 30: reviewers decide review items).
REVIEW_PREFIX = "decide_review"

#: Bulk queue actions (`apply_queue_action`'s first argument) an operator may apply.
OPERATOR_QUEUE_ACTIONS = frozenset({"retry"})


class NotAllowed(ValueError):
    """The signed-in person's role may not do this. Nothing was written.

    A `ValueError`, so the page shows the message like any refused input."""

    def __init__(self, identity: Identity, action: str) -> None:
        super().__init__(
            f"Not allowed: {identity.name} signed in as {identity.role}, and only "
            f"{plural(LEAST_ROLE[action])} may {action}. Ask an admin."
        )
        self.identity = identity
        self.action = action


def plural(role: str) -> str:
    """'an operator or above', 'admins' — the roles holding a permission, in words."""
    return "admins" if role == "admin" else f"{role}s and the roles above"


def rank(role: str) -> int:
    """0 for admin, growing for weaker roles."""
    return ROLES.index(role)


def may(identity: Identity, action: str) -> bool:
    """True when `identity`'s role holds `action`."""
    return rank(identity.role) <= rank(LEAST_ROLE[action])


def check(identity: Identity, action: str) -> None:
    """Refuse (NotAllowed) unless `identity` may do `action`."""
    if not may(identity, action):
        raise NotAllowed(identity, action)


def action_of_call(method: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    """The action a data-layer call is: a read, one of the writes a lower role may do,
    or (anything else) administering."""
    if method == "get_credential":
        decrypt = kwargs.get("decrypt_password", args[1] if len(args) > 1 else True)
        return READ_SECRETS if decrypt else READ
    if method == "get_alert_channel":
        decrypt = kwargs.get("decrypt", args[1] if len(args) > 1 else False)
        return READ_SECRETS if decrypt else READ
    if method == "apply_queue_action":
        action = kwargs.get("action", args[0] if args else None)
        return FIX_QUEUE_ELEMENTS if action in OPERATOR_QUEUE_ACTIONS else ADMINISTER
    if method in READ_METHODS:
        return READ
    if method.startswith(REVIEW_PREFIX):
        return DECIDE_REVIEWS
    return WRITE_METHODS.get(method, ADMINISTER)


def check_call(
    identity: Identity, method: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> None:
    """Refuse (NotAllowed) a data-layer call `identity` may not make."""
    check(identity, action_of_call(method, args, kwargs))

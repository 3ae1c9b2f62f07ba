"""Alerts: who watches (the lease), the channels, the rules, recipients per trigger or
queue, and the history of alerts with their state. Every read and write goes through
the data layer; no secret is ever put in a row."""

import json
from typing import Any

from nicegui import ui

from openorch.database import Alert, AlertChannel, AlertRecipients, AlertRule
from openorch.database.alerts import RULE_KINDS
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import cut, fmt, guarded, off_loop, shown_if, tid
from openorch.orchestrator.popups.alert_popups import (
    ChannelPopup,
    RecipientsPopup,
    RulePopup,
    alert_details_popup,
)
from openorch.orchestrator.widgets import quiet_no_data
from openorch.roles import ADMINISTER

#: How many alerts the history shows per page.
HISTORY_PAGE = 50


def _columns(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"name": key, "label": label, "field": key, "align": "left"} for key, label in pairs]


CHANNEL_COLUMNS = _columns(
    ("name", "Name"),
    ("kind", "Kind"),
    ("target", "Sends to"),
    ("recipients", "Always to"),
    ("enabled", "Enabled"),
)
RULE_COLUMNS = _columns(
    ("label", "Rule"),
    ("enabled", "On"),
    ("threshold", "Threshold"),
    ("reminder", "Reminder"),
    ("recovered", "Recovered notice"),
    ("recipients", "Recipients"),
    ("channels", "Channels"),
)
RECIPIENT_COLUMNS = _columns(("scope", "For a"), ("name", "Name"), ("recipients", "Addresses"))
HISTORY_COLUMNS = _columns(
    ("opened_at", "Opened"),
    ("rule", "Rule"),
    ("title", "Alert"),
    ("state", "State"),
    ("sent_at", "Sent"),
    ("closed_at", "Closed"),
    ("attempts", "Attempts"),
)


def channel_row(channel: AlertChannel, target: str) -> dict[str, Any]:
    """One channel: where it sends, described without its secret."""
    return {
        "id": channel.name,
        "name": channel.name,
        "kind": channel.kind,
        "target": target,
        "recipients": channel.recipients or "",
        "enabled": "yes" if channel.enabled else "no",
    }


#: A unit's words for a threshold of exactly 1 ("1 element past its deadline").
_SINGULAR = {
    "minutes": "minute",
    "seconds": "second",
    "elements": "element",
    "their deadline": "its deadline",
}


def threshold_text(threshold: int | None, unit: str | None) -> str:
    """A rule's threshold with its unit, in the singular for 1 (not "1 elements past
    their deadline")."""
    if not unit or threshold is None:
        return ""
    if threshold == 1:
        for plural, singular in _SINGULAR.items():
            unit = unit.replace(plural, singular)
    return f"{threshold} {unit}"


def rule_row(rule: AlertRule) -> dict[str, Any]:
    """One rule with its settings in words."""
    catalogue = RULE_KINDS[rule.kind]
    channels = ", ".join(json.loads(rule.channels)) if rule.channels else "all enabled"
    return {
        "id": rule.kind,
        "kind": rule.kind,
        "label": catalogue.label,
        "enabled": "on" if rule.enabled else "off",
        "threshold": threshold_text(rule.threshold, catalogue.unit),
        "reminder": f"after {rule.reminder_minutes} min" if rule.reminder_minutes else "",
        "recovered": ("yes" if rule.notify_recovered else "no") if catalogue.condition else "",
        "recipients": rule.recipients or "",
        "channels": channels,
    }


def history_row(alert: Alert) -> dict[str, Any]:
    """One alert of the history."""
    return {
        "id": str(alert.id),
        "opened_at": fmt(alert.opened_at),
        "rule": alert.rule,
        "title": cut(alert.title, 120),
        "state": alert.state,
        "sent_at": fmt(alert.sent_at),
        "closed_at": fmt(alert.closed_at),
        "attempts": alert.attempts,
    }


class AlertsTab:
    """The Alerts panel."""

    def __init__(self, client_store: ClientStore) -> None:
        self.client_store = client_store
        self.page = 0
        self._navigating = False
        self._alerts: dict[str, Alert] = {}
        self._channels: dict[str, AlertChannel] = {}
        self._targets: dict[str, str] = {}
        self._rules: dict[str, AlertRule] = {}
        self._recipients: dict[str, AlertRecipients] = {}
        self.lease_label = tid(ui.label(""), "alerts_lease_label")
        with shown_if(ui.row(), client_store.identity, ADMINISTER):
            tid(
                ui.button(
                    "New email channel",
                    icon="mail",
                    on_click=guarded(lambda: self.new_channel("email")),
                ),
                "alerts_new_email_button",
            )
            tid(
                ui.button(
                    "New webhook channel",
                    icon="webhook",
                    on_click=guarded(lambda: self.new_channel("webhook")),
                ),
                "alerts_new_webhook_button",
            )
        self.channels_table = tid(
            ui.table(columns=CHANNEL_COLUMNS, rows=[], row_key="id", title="Channels").classes(
                "w-full"
            ),
            "alerts_channels_table",
        )
        quiet_no_data(self.channels_table, "No channel yet: add an email or webhook channel.")
        self.channels_table.on("row-click", guarded(lambda e: self.open_channel(e.args[1]["id"])))
        self.rules_table = tid(
            ui.table(columns=RULE_COLUMNS, rows=[], row_key="id", title="Rules").classes("w-full"),
            "alerts_rules_table",
        )
        quiet_no_data(self.rules_table, "No rules.")
        self.rules_table.on("row-click", guarded(lambda e: self.open_rule(e.args[1]["id"])))
        tid(
            ui.button(
                "Add recipients",
                icon="person_add",
                on_click=guarded(lambda: self.open_recipients(None)),
            ),
            "alerts_new_recipients_button",
        )
        self.recipients_table = tid(
            ui.table(
                columns=RECIPIENT_COLUMNS,
                rows=[],
                row_key="id",
                title="Recipients per trigger or queue",
            ).classes("w-full"),
            "alerts_recipients_table",
        )
        quiet_no_data(self.recipients_table, "No recipients per trigger or queue.")
        self.recipients_table.on(
            "row-click", guarded(lambda e: self.open_recipients(e.args[1]["id"]))
        )
        with ui.row().classes("items-center"):
            ui.label("History").classes("text-lg")
            tid(
                ui.button(icon="chevron_left", on_click=guarded(lambda: self.turn(-1))).props(
                    "flat"
                ),
                "alerts_history_newer_button",
            )
            self.page_label = tid(ui.label(""), "alerts_history_page_label")
            tid(
                ui.button(icon="chevron_right", on_click=guarded(lambda: self.turn(1))).props(
                    "flat"
                ),
                "alerts_history_older_button",
            )
            self.open_only = tid(
                ui.checkbox("Open only", on_change=guarded(self._filter_changed)),
                "alerts_open_only_checkbox",
            )
            self.open_only.tooltip("Show only the alerts not closed yet")
        self.history_table = tid(
            ui.table(
                columns=HISTORY_COLUMNS, rows=[], row_key="id", pagination={"rowsPerPage": 0}
            ).classes("w-full"),
            "alerts_history_table",
        )
        quiet_no_data(self.history_table, "No alerts.")
        self.history_table.on("row-click", guarded(lambda e: self.open_alert(e.args[1]["id"])))
        self.total = 0

    async def refresh(self) -> None:
        """Load everything again (the history: the page shown)."""
        store = self.client_store.store
        lease = await off_loop(store.get_watchdog_lease)
        now = await off_loop(store.database_utc_now)
        if lease is None:
            self.lease_label.text = (
                "Watchdog: no Scheduler has evaluated the rules yet (start one)."
            )
        elif lease.expires_at < now:
            self.lease_label.text = (
                f"Watchdog: nobody holds the lease now (the last holder, "
                f"{lease.holder}, stopped renewing it)."
            )
        else:
            self.lease_label.text = f"Watchdog: {lease.holder} evaluates the rules."
        channels = await off_loop(store.get_alert_channels)
        self._channels = {channel.name: channel for channel in channels}
        self._targets = {
            channel.name: store.describe_alert_channel(channel) for channel in channels
        }
        self.channels_table.rows = [
            channel_row(channel, self._targets[channel.name]) for channel in channels
        ]
        rules = await off_loop(store.get_alert_rules)
        self._rules = {rule.kind: rule for rule in rules}
        self.rules_table.rows = [rule_row(rule) for rule in rules]
        recipients = await off_loop(store.get_alert_recipients)
        self._recipients = {f"{entry.scope}:{entry.name}": entry for entry in recipients}
        self.recipients_table.rows = [
            {"id": key, "scope": entry.scope, "name": entry.name, "recipients": entry.recipients}
            for key, entry in self._recipients.items()
        ]
        offset = self.page * HISTORY_PAGE
        alerts, self.total = await off_loop(
            lambda: store.get_alerts(
                offset, HISTORY_PAGE, include_count=True, open_only=bool(self.open_only.value)
            )
        )
        self._alerts = {str(alert.id): alert for alert in alerts}
        self.history_table.rows = [history_row(alert) for alert in alerts]
        pages = max(1, -(-self.total // HISTORY_PAGE))
        self.page_label.text = f"page {self.page + 1} of {pages} ({self.total} alerts)"
        for table in (
            self.channels_table,
            self.rules_table,
            self.recipients_table,
            self.history_table,
        ):
            table.update()

    def apply_filter(self, open_only: bool) -> None:
        """Show the history from its first page, only the open alerts or all of them
        (where the Overview's open-alerts figure leads); the caller refreshes."""
        self._navigating = True
        try:
            self.open_only.value = open_only
        finally:
            self._navigating = False
        self.page = 0

    async def _filter_changed(self) -> None:
        if self._navigating:
            return
        self.page = 0
        await self.refresh()

    async def turn(self, step: int) -> None:
        """Show newer (-1) or older (+1) alerts."""
        last = max(0, -(-self.total // HISTORY_PAGE) - 1)
        self.page = min(last, max(0, self.page + step))
        await self.refresh()

    async def new_channel(self, kind: str) -> ChannelPopup:
        """Open an empty channel form."""
        credentials = await off_loop(self.client_store.store.get_credentials)
        return ChannelPopup(
            self.client_store, kind, None, "", [c.name for c in credentials], self.refresh
        )

    async def open_channel(self, name: str) -> ChannelPopup:
        """Open a channel's form (its webhook URL stays hidden)."""
        channel = self._channels[name]
        credentials = await off_loop(self.client_store.store.get_credentials)
        return ChannelPopup(
            self.client_store,
            channel.kind,
            channel,
            self._targets[name],
            [c.name for c in credentials],
            self.refresh,
        )

    def open_rule(self, kind: str) -> RulePopup:
        """Open a rule's form."""
        return RulePopup(self.client_store, self._rules[kind], sorted(self._channels), self.refresh)

    def open_recipients(self, key: str | None) -> RecipientsPopup:
        """Open the recipients form, empty or for one trigger or queue."""
        entry = self._recipients.get(key or "")
        if entry is None:
            return RecipientsPopup(self.client_store, "trigger", "", "", self.refresh)
        return RecipientsPopup(
            self.client_store, entry.scope, entry.name, entry.recipients, self.refresh
        )

    async def open_alert(self, alert_id: str) -> ui.dialog:
        """Show one alert and its messages."""
        return await alert_details_popup(self.client_store, self._alerts[alert_id])

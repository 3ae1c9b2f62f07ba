"""The Alerts tab's popups: a channel (email or webhook, with "Send a test"), a rule,
recipients for one trigger or queue, and one alert's details.

Secrets never reach the page: an SMTP login is picked by credential name, and a webhook
URL is write-only (the form shows only its host; left empty, the stored URL is kept).
"""

from collections.abc import Awaitable, Callable

from nicegui import ui

from openorch.alerts import send_test
from openorch.database import Alert, AlertChannel, AlertRule
from openorch.database.alerts import RULE_KINDS, SMTP_SECURITY, WEBHOOK_FORMATS
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import fmt, guarded, notify_result, off_loop, tid
from openorch.orchestrator.popups.generic import forget_on_close, question_popup
from openorch.orchestrator.widgets import KeptSecretInput, quiet_no_data

Refresh = Callable[[], Awaitable[None]]


class ChannelPopup:
    """New channel of `kind` (channel None) or an existing one (name fixed)."""

    def __init__(
        self,
        client_store: ClientStore,
        kind: str,
        channel: AlertChannel | None,
        target: str,
        credentials: list[str],
        on_change: Refresh,
    ) -> None:
        self.client_store = client_store
        self.kind = kind
        self.channel = channel
        self.on_change = on_change
        word = "email" if kind == "email" else "webhook"
        with (
            tid(ui.dialog(value=True).props("persistent"), "channel_popup") as self.dialog,
            ui.card().classes("w-full max-w-2xl"),
        ):
            ui.label(f"{'Edit' if channel else 'New'} {word} channel").classes("text-xl")
            self.name = tid(ui.input("Channel name").classes("w-full"), "channel_popup_name_input")
            self.enabled = tid(ui.switch("Enabled", value=True), "channel_popup_enabled_switch")
            if kind == "email":
                self.host = tid(ui.input("SMTP host").classes("w-full"), "channel_popup_host_input")
                self.port = tid(
                    ui.number("Port", value=587, min=1, max=65535, precision=0),
                    "channel_popup_port_input",
                )
                self.security = tid(
                    ui.select(list(SMTP_SECURITY), value="starttls", label="Security"),
                    "channel_popup_security_select",
                )
                self.credential = tid(
                    ui.select(["", *credentials], value="", label="Login (credential)").classes(
                        "w-full"
                    ),
                    "channel_popup_credential_select",
                )
                self.sender = tid(
                    ui.input("From address").classes("w-full"), "channel_popup_sender_input"
                )
                self.recipients = tid(
                    ui.input("Always send to (addresses)").classes("w-full"),
                    "channel_popup_recipients_input",
                )
            else:
                self.format = tid(
                    ui.select(list(WEBHOOK_FORMATS), value="teams", label="Body"),
                    "channel_popup_format_select",
                )
                self.url = KeptSecretInput("Webhook URL", "channel_popup_url_input")
                if channel:
                    self.url.keep(target)
            with ui.row():
                tid(ui.button("Save", on_click=guarded(self.save)), "channel_popup_save_button")
                tid(ui.button("Cancel", on_click=self.dialog.close), "channel_popup_cancel_button")
                if channel is not None:
                    tid(
                        ui.button("Send a test", icon="send", on_click=guarded(self.test)),
                        "channel_popup_test_button",
                    )
                    tid(
                        ui.button("Delete", color="negative", on_click=guarded(self.delete)),
                        "channel_popup_delete_button",
                    )
        if channel is not None:
            self._fill(channel)
        forget_on_close(self.dialog)

    def _fill(self, channel: AlertChannel) -> None:
        self.name.value = channel.name
        self.name.disable()
        self.enabled.value = channel.enabled
        if self.kind == "email":
            self.host.value = channel.smtp_host
            self.port.value = channel.smtp_port
            self.security.value = channel.smtp_security
            self.credential.value = channel.credential_name or ""
            self.sender.value = channel.sender
            self.recipients.value = channel.recipients or ""
        else:
            self.format.value = channel.webhook_format

    async def save(self) -> None:
        """Validate in the data layer and save; the URL input is emptied at once."""
        store = self.client_store.store
        name = (self.name.value or "").strip()
        if self.kind == "email":
            port = self.port.value
            await off_loop(
                store.save_alert_channel,
                name,
                "email",
                enabled=bool(self.enabled.value),
                smtp_host=(self.host.value or "").strip(),
                smtp_port=int(port) if port is not None else None,
                smtp_security=self.security.value,
                credential_name=self.credential.value or None,
                sender=self.sender.value,
                recipients=self.recipients.value,
            )
        else:
            url = self.url.typed()
            self.url.input.value = ""
            await off_loop(
                store.save_alert_channel,
                name,
                "webhook",
                enabled=bool(self.enabled.value),
                webhook_url=url,
                webhook_format=self.format.value,
            )
        notify_result(f"Channel '{name}' saved.", "positive")
        self.dialog.close()
        await self.on_change()

    async def test(self) -> None:
        """Send a test message through the saved channel now."""
        assert self.channel is not None
        await off_loop(send_test, self.client_store.store, self.channel.name)
        notify_result(f"Test message sent through '{self.channel.name}'.", "positive")

    async def delete(self) -> None:
        """Delete after asking."""
        assert self.channel is not None
        name = self.channel.name
        if not await question_popup(f"Delete channel '{name}'?", "Delete", yes_color="negative"):
            return
        await off_loop(self.client_store.store.delete_alert_channel, name)
        self.dialog.close()
        await self.on_change()


class RulePopup:
    """Switch one rule on or off and tune it."""

    def __init__(
        self, client_store: ClientStore, rule: AlertRule, channels: list[str], on_change: Refresh
    ) -> None:
        import json

        self.client_store = client_store
        self.rule = rule
        self.on_change = on_change
        catalogue = RULE_KINDS[rule.kind]
        with (
            tid(ui.dialog(value=True), "rule_popup") as self.dialog,
            ui.card().classes("w-full max-w-2xl"),
        ):
            ui.label(catalogue.label).classes("text-xl")
            self.enabled = tid(ui.switch("On", value=rule.enabled), "rule_popup_enabled_switch")
            self.threshold = None
            if catalogue.unit is not None:
                self.threshold = tid(
                    ui.number(
                        f"Threshold ({catalogue.unit})", value=rule.threshold, min=1, precision=0
                    ),
                    "rule_popup_threshold_input",
                )
            self.reminder = tid(
                ui.number(
                    "One reminder after (minutes; empty: none)",
                    value=rule.reminder_minutes,
                    min=1,
                    precision=0,
                ),
                "rule_popup_reminder_input",
            )
            self.recovered = tid(
                ui.switch('Send "recovered" when it clears', value=rule.notify_recovered),
                "rule_popup_recovered_switch",
            )
            if not catalogue.condition:
                self.reminder.disable()
                self.recovered.disable()
            self.recipients = tid(
                ui.input("Recipients (addresses)", value=rule.recipients or "").classes("w-full"),
                "rule_popup_recipients_input",
            )
            chosen = json.loads(rule.channels) if rule.channels else []
            self.channels = tid(
                ui.select(
                    channels,
                    value=chosen,
                    multiple=True,
                    label="Channels (none chosen: all enabled ones)",
                ).classes("w-full"),
                "rule_popup_channels_select",
            )
            with ui.row():
                tid(ui.button("Save", on_click=guarded(self.save)), "rule_popup_save_button")
                tid(ui.button("Cancel", on_click=self.dialog.close), "rule_popup_cancel_button")
        forget_on_close(self.dialog)

    async def save(self) -> None:
        """Save the rule."""
        threshold = self.threshold.value if self.threshold is not None else None
        reminder = self.reminder.value
        await off_loop(
            self.client_store.store.save_alert_rule,
            self.rule.kind,
            enabled=bool(self.enabled.value),
            threshold=int(threshold) if threshold is not None else None,
            reminder_minutes=int(reminder) if reminder else None,
            notify_recovered=bool(self.recovered.value),
            recipients=self.recipients.value,
            channels=list(self.channels.value or []) or None,
        )
        notify_result("Rule saved.", "positive")
        self.dialog.close()
        await self.on_change()


class RecipientsPopup:
    """Extra recipients for one trigger or queue (empty addresses remove them)."""

    def __init__(
        self, client_store: ClientStore, scope: str, name: str, recipients: str, on_change: Refresh
    ) -> None:
        self.client_store = client_store
        self.on_change = on_change
        with (
            tid(ui.dialog(value=True), "recipients_popup") as self.dialog,
            ui.card().classes("w-full max-w-2xl"),
        ):
            ui.label("Recipients for a trigger or queue").classes("text-xl")
            self.scope = tid(
                ui.select(["trigger", "queue"], value=scope, label="For a"),
                "recipients_popup_scope_select",
            )
            self.name = tid(
                ui.input("Trigger or queue name", value=name).classes("w-full"),
                "recipients_popup_name_input",
            )
            self.recipients = tid(
                ui.input("Addresses (empty: remove)", value=recipients).classes("w-full"),
                "recipients_popup_recipients_input",
            )
            with ui.row():
                tid(ui.button("Save", on_click=guarded(self.save)), "recipients_popup_save_button")
                tid(
                    ui.button("Cancel", on_click=self.dialog.close),
                    "recipients_popup_cancel_button",
                )
        forget_on_close(self.dialog)

    async def save(self) -> None:
        """Save (or remove) the list."""
        await off_loop(
            self.client_store.store.set_alert_recipients,
            self.scope.value,
            (self.name.value or "").strip(),
            self.recipients.value,
        )
        self.dialog.close()
        await self.on_change()


async def alert_details_popup(client_store: ClientStore, alert: Alert) -> ui.dialog:
    """One alert: its text (as text, never HTML) and every message sent about it."""
    deliveries = await off_loop(client_store.store.get_alert_deliveries, alert.id)
    with tid(ui.dialog(value=True), "alert_popup") as dialog, ui.card().classes("w-full max-w-3xl"):
        ui.label(alert.title).classes("text-xl")
        ui.label(
            f"Rule {alert.rule} · opened {fmt(alert.opened_at)} · "
            f"closed {fmt(alert.closed_at, 'not yet')} · {alert.state}"
        )
        tid(ui.code(alert.body, language="text").classes("w-full"), "alert_popup_body")
        rows = [
            {
                "id": str(d.id),
                "channel": d.channel_name,
                "message": d.message,
                "state": d.state,
                "attempts": d.attempts,
                "sent_at": fmt(d.sent_at),
                "next": fmt(d.next_attempt_at) if d.state == "pending" else "",
                "error": d.last_error or "",
            }
            for d in deliveries
        ]
        columns = [
            {"name": key, "label": label, "field": key, "align": "left"}
            for key, label in (
                ("channel", "Channel"),
                ("message", "Message"),
                ("state", "State"),
                ("attempts", "Attempts"),
                ("sent_at", "Sent"),
                ("next", "Next try"),
                ("error", "Last error"),
            )
        ]
        deliveries_table = tid(
            ui.table(columns=columns, rows=rows, row_key="id").classes("w-full"),
            "alert_popup_deliveries_table",
        )
        quiet_no_data(deliveries_table, "Not sent to any channel.")
        tid(ui.button("Close", on_click=dialog.close), "alert_popup_close_button")
    forget_on_close(dialog)
    return dialog

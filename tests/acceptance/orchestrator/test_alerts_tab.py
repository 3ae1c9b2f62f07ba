"""Alerts tab: channels (with "Send a test" to a real SMTP server and webhook receiver),
rules, recipients and the history; the SMTP password and the webhook URL never reach
the page."""

from nicegui import ui
from nicegui.testing.user import User

from openorch.database import JobStatus, LogLevel
from openorch.store import Store
from support.receivers import SMTP_LOGIN, SmtpSink, WebhookSink
from support.ui import click_and_wait, click_row, has, one, set_value, show_tab, table_rows, until

USERNAME, PASSWORD = SMTP_LOGIN


def page_text(user: User) -> str:
    """Every prop and text of every element on the page (what a browser could see)."""
    with user.client:  # type: ignore[union-attr]
        return "\n".join(
            f"{element.props} {getattr(element, 'text', '')} {getattr(element, 'rows', '')}"
            f" {getattr(element, 'value', '')}"
            for element in user.client.elements.values()  # type: ignore[union-attr]
        )


async def test_channels_test_rules_and_history(
    connected: User, db: Store, smtp: SmtpSink, hook: WebhookSink
) -> None:
    user = connected
    db.create_credential("smtp", USERNAME, PASSWORD)
    await show_tab(user, "Alerts")

    await click_and_wait(user, "alerts_new_email_button", "channel_popup_save_button")
    user.find(marker="channel_popup_name_input").type("mail")
    user.find(marker="channel_popup_host_input").type("127.0.0.1")
    set_value(user, "channel_popup_port_input", smtp.port)
    set_value(user, "channel_popup_security_select", "none")
    set_value(user, "channel_popup_credential_select", "smtp")
    user.find(marker="channel_popup_sender_input").type("openorch@example.com")
    user.find(marker="channel_popup_recipients_input").type("bad address")
    user.find(marker="channel_popup_save_button").click()
    await user.should_see("recipients: 'bad' is not an email address.")
    assert db.get_alert_channels() == ()
    user.find(marker="channel_popup_recipients_input").clear().type("team@example.com")
    user.find(marker="channel_popup_save_button").click()
    await until(
        lambda: [row["name"] for row in table_rows(user, "alerts_channels_table")] == ["mail"]
    )

    await click_and_wait(user, "alerts_new_webhook_button", "channel_popup_save_button")
    user.find(marker="channel_popup_name_input").type("slack")
    set_value(user, "channel_popup_format_select", "slack")
    user.find(marker="channel_popup_url_input").type(hook.url())
    user.find(marker="channel_popup_save_button").click()
    await until(lambda: len(table_rows(user, "alerts_channels_table")) == 2)
    slack = next(r for r in table_rows(user, "alerts_channels_table") if r["name"] == "slack")
    assert slack["target"] == "slack webhook to http://127.0.0.1/…"

    # Send a test through each channel.
    for row in table_rows(user, "alerts_channels_table"):
        click_row(user, "alerts_channels_table", row)
        await until(lambda: has(user, "channel_popup_test_button"))
        assert "SECRET-TOKEN" not in str(
            one(user, "channel_popup_url_input").value if row["name"] == "slack" else ""
        )
        user.find(marker="channel_popup_test_button").click()
        # Sending takes a moment (a real SMTP exchange): more than should_see's 0.3 s
        # when the machine is busy.
        await user.should_see(f"Test message sent through '{row['name']}'.", retries=50)
        user.find(marker="channel_popup_cancel_button").click()
        await until(lambda: not has(user, "channel_popup_test_button"))
    assert smtp.wait_for(1)[0]["Subject"] == "[openorch] Test: channel 'mail' works"
    assert hook.wait_for(1)[0]["text"].startswith("*[openorch] Test: channel 'slack' works*")

    # Switch a rule on.
    row = next(r for r in table_rows(user, "alerts_rules_table") if r["kind"] == "trigger_overdue")
    assert row["enabled"] == "off" and row["threshold"] == "15 minutes late"
    click_row(user, "alerts_rules_table", row)
    await until(lambda: has(user, "rule_popup_save_button"))
    set_value(user, "rule_popup_enabled_switch", True)
    set_value(user, "rule_popup_threshold_input", 5)
    set_value(user, "rule_popup_channels_select", ["mail"])
    user.find(marker="rule_popup_save_button").click()
    await until(lambda: db.get_alert_rule("trigger_overdue").enabled)
    rule = db.get_alert_rule("trigger_overdue")
    assert rule.threshold == 5 and rule.channels == '["mail"]'

    # Recipients for one queue; a bad address is refused, nothing stored.
    await click_and_wait(user, "alerts_new_recipients_button", "recipients_popup_save_button")
    set_value(user, "recipients_popup_scope_select", "queue")
    user.find(marker="recipients_popup_name_input").type("orders")
    user.find(marker="recipients_popup_recipients_input").type("not-an-address")
    user.find(marker="recipients_popup_save_button").click()
    await user.should_see("recipients: 'not-an-address' is not an email address.")
    assert db.get_alert_recipients() == ()
    user.find(marker="recipients_popup_recipients_input").clear().type("orders@example.com")
    user.find(marker="recipients_popup_save_button").click()
    await until(lambda: table_rows(user, "alerts_recipients_table"))
    (entry,) = table_rows(user, "alerts_recipients_table")
    assert (entry["scope"], entry["name"], entry["recipients"]) == (
        "queue",
        "orders",
        "orders@example.com",
    )

    # History: an alert with its messages.
    db.save_alert_rule("job_failed", enabled=True)
    job = db.start_job("p", "robot-1")
    db.create_log("p", LogLevel.ERROR, job.id, "The process exited with code 2.")
    db.end_job(job.id, JobStatus.FAILED)
    from openorch.alerts import Watchdog

    Watchdog(db, "tab-test", lambda _line: None, interval=0, lease_seconds=60).tick()
    user.find(marker="refresh_button").click()
    await until(lambda: table_rows(user, "alerts_history_table"))
    (history,) = table_rows(user, "alerts_history_table")
    assert history["title"] == "Job of process 'p' failed (exit code 2)"
    assert history["state"] == "closed, sent" and history["attempts"] == 2
    click_row(user, "alerts_history_table", history)
    await until(lambda: has(user, "alert_popup_deliveries_table"))
    states = {r["channel"]: r["state"] for r in table_rows(user, "alert_popup_deliveries_table")}
    assert states == {"mail": "sent", "slack": "sent"}
    assert "tab-test" in one(user, "alerts_lease_label").text

    text = page_text(user)
    assert PASSWORD not in text and "SECRET-TOKEN" not in text
    assert isinstance(one(user, "alerts_history_table"), ui.table)

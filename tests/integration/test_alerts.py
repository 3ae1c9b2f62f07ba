"""Alerts on both databases with real receivers: an aiosmtpd SMTP server with a login and
an http.server webhook. Two `Watchdog`s share one database as two Schedulers would; the
tests call `tick()` themselves, so they decide when a round happens."""

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from openorch.alerts import Watchdog, send_test
from openorch.alerts.channels import SendError
from openorch.database import Alert, JobStatus, LogLevel, QueueStatus
from openorch.database.base import table_of
from openorch.sdk import OrchestratorConnection
from openorch.store import Store
from support.dump import as_text, dump_tables
from support.receivers import SMTP_LOGIN, SmtpSink, WebhookSink
from support.tls import make_certificate, server_context

USERNAME, PASSWORD = SMTP_LOGIN


def configure(store: Store, smtp: SmtpSink, hook: WebhookSink, body_format: str = "plain") -> None:
    """An email channel logging in with a credential, and a webhook channel."""
    store.create_credential("smtp login", USERNAME, PASSWORD)
    store.save_alert_channel(
        "mail",
        "email",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        credential_name="smtp login",
        sender="openorch@example.com",
        recipients="team@example.com",
    )
    store.save_alert_channel("hook", "webhook", webhook_url=hook.url(), webhook_format=body_format)


def failed_job(store: Store, trigger: str = "nightly invoices", code: int = 3) -> uuid.UUID:
    """A job ended as a Scheduler ends a failing process: ERROR log, then FAILED."""
    trigger_id = store.create_single_trigger(
        trigger, "invoices", datetime.now(), "/robots/invoices.py", None, False, True
    )
    job = store.start_job("invoices", "robot-7", trigger_id)
    store.create_log(
        "invoices",
        LogLevel.ERROR,
        job.id,
        f"The process exited with code {code}. The end of its error output:\n"
        "Traceback (most recent call last):\nKeyError: 'customer'",
    )
    store.set_trigger_status(trigger_id, "FAILED")
    store.end_job(job.id, JobStatus.FAILED)
    return job.id


def watchdogs(store: Store, lines: list[str], count: int = 2) -> list[Watchdog]:
    return [
        Watchdog(
            store, f"robot-{index}", lines.append, interval=0.0, retry_base=0.2, lease_seconds=60
        )
        for index in range(count)
    ]


def test_failed_job_gives_one_email_and_one_webhook_call(
    store: Store, smtp: SmtpSink, hook: WebhookSink
) -> None:
    configure(store, smtp, hook)
    store.save_alert_rule("job_failed", enabled=True, recipients="ops@example.com")
    store.set_alert_recipients("trigger", "nightly invoices", "invoices-owner@example.com")
    job_id = failed_job(store)
    lines: list[str] = []
    first, second = watchdogs(store, lines)

    for _round in range(3):
        first.tick()
        second.tick()

    assert first.is_holder and not second.is_holder
    (mail,) = smtp.wait_for(1)
    assert len(hook.wait_for(1)) == 1
    text = mail.get_content()
    assert mail["Subject"] == "[openorch] Job of trigger 'nightly invoices' failed (exit code 3)"
    for fact in ("robot-7", "Exit code: 3", "KeyError: 'customer'", str(job_id)):
        assert fact in text
    assert sorted(smtp.envelopes[0][1]) == [
        "invoices-owner@example.com",
        "ops@example.com",
        "team@example.com",
    ]
    assert smtp.logins == [(USERNAME, PASSWORD)]
    assert hook.bodies[0]["rule"] == "job_failed" and hook.bodies[0]["event"] == "opened"
    assert hook.paths == ["/hook/SECRET-TOKEN"]
    (alert,) = store.get_alerts()
    assert alert.sent_at is not None and alert.closed_at is None and alert.attempts == 2

    # The admin resets the trigger: one "recovered" per channel, and nothing more.
    store.set_trigger_status(store.get_job(job_id).trigger_id, "IDLE")
    for _round in range(3):
        first.tick()
        second.tick()
    mails = smtp.wait_for(2)
    assert mails[1]["Subject"] == (
        "[openorch] Recovered: Job of trigger 'nightly invoices' failed (exit code 3)"
    )
    assert hook.wait_for(2)[1]["event"] == "recovered"
    assert len(smtp.messages) == 2 and len(hook.bodies) == 2
    (alert,) = store.get_alerts()
    assert alert.closed_at is not None
    # Secrets: not in the database in clear, not in the watchdog's output.
    stored = as_text(dump_tables(store.engine))
    assert PASSWORD not in stored and "SECRET-TOKEN" not in stored
    assert not any(PASSWORD in line or "SECRET-TOKEN" in line for line in lines)


def test_rule_switched_on_later_ignores_older_failures(
    store: Store, smtp: SmtpSink, hook: WebhookSink
) -> None:
    configure(store, smtp, hook)
    failed_job(store)
    store.save_alert_rule("job_failed", enabled=True)
    (watchdog,) = watchdogs(store, [], 1)
    watchdog.tick()
    assert store.get_alerts() == ()


def test_condition_opens_once_and_recovers_once(
    store: Store, smtp: SmtpSink, hook: WebhookSink
) -> None:
    configure(store, smtp, hook, body_format="slack")
    store.save_alert_rule("scheduler_silent", enabled=True, threshold=5)
    store.send_ping_from_scheduler("robot-9")
    silent = table_of(store.get_schedulers()[0].__class__)
    with store.engine.begin() as connection:  # a heartbeat ten minutes old
        connection.execute(
            sa.update(silent).values(last_update=datetime.now() - timedelta(minutes=10))
        )
    (watchdog,) = watchdogs(store, [], 1)
    for _round in range(3):
        watchdog.tick()
    smtp.wait_for(1)
    hook.wait_for(1)
    assert "robot-9" in hook.bodies[0]["text"] and hook.bodies[0]["text"].startswith("*[openorch]")

    store.send_ping_from_scheduler("robot-9")
    for _round in range(3):
        watchdog.tick()

    mails = smtp.wait_for(2)
    hook.wait_for(2)
    assert mails[1]["Subject"] == "[openorch] Recovered: Scheduler 'robot-9' is silent"
    assert len(smtp.messages) == 2 and len(hook.bodies) == 2
    (alert,) = store.get_alerts()
    assert alert.closed_at is not None


def test_one_reminder_after_the_quiet_period(
    store: Store, smtp: SmtpSink, hook: WebhookSink
) -> None:
    configure(store, smtp, hook)
    store.save_alert_rule("trigger_stopped", enabled=True, reminder_minutes=30)
    trigger_id = store.create_single_trigger(
        "stuck", "p", datetime.now(), "/p.py", None, False, True
    )
    store.set_trigger_status(trigger_id, "FAILED")
    (watchdog,) = watchdogs(store, [], 1)
    watchdog.tick()
    smtp.wait_for(1)
    alerts = table_of(Alert)
    with store.engine.begin() as connection:  # the quiet period has passed
        connection.execute(
            sa.update(alerts).values(opened_at=datetime.now() - timedelta(minutes=31))
        )
    for _round in range(3):
        watchdog.tick()
    mails = smtp.wait_for(2)
    assert mails[1]["Subject"] == "[openorch] Still: Trigger 'stuck' stopped after a failure"
    assert len(smtp.messages) == 2 and len(hook.bodies) == 2


def test_a_flood_is_summarised(store: Store, smtp: SmtpSink, hook: WebhookSink) -> None:
    configure(store, smtp, hook)
    store.save_alert_rule("job_failed", enabled=True)
    for index in range(15):
        failed_job(store, trigger=f"robot {index}")
    (watchdog,) = watchdogs(store, [], 1)
    watchdog.tick()
    watchdog.tick()
    (mail,) = smtp.wait_for(1)
    assert mail["Subject"] == "[openorch] 15 alerts at once"
    assert "robot 14" in mail.get_content()
    assert len(hook.wait_for(1)) == 1
    assert all(alert.sent_at is not None for alert in store.get_alerts())


def test_a_failed_send_is_retried_with_backoff(
    store: Store, smtp: SmtpSink, hook: WebhookSink
) -> None:
    configure(store, smtp, hook)
    store.save_alert_rule("job_failed", enabled=True)
    failed_job(store)
    hook.status = 500
    lines: list[str] = []
    (watchdog,) = watchdogs(store, lines, 1)
    watchdog.tick()
    (alert,) = store.get_alerts()
    (delivery,) = [d for d in store.get_alert_deliveries(alert.id) if d.channel_name == "hook"]
    assert delivery.state == "pending" and delivery.attempts == 1
    assert delivery.last_error == "The webhook answered HTTP 500 Internal Server Error."
    assert any("next try in 0.2 s" in line for line in lines)

    hook.status = 200
    watchdog.tick()  # too early: the backoff has not passed (or just has)
    import time

    time.sleep(0.5)
    watchdog.tick()
    watchdog.tick()
    assert len(hook.wait_for(1)) == 1
    assert len(smtp.messages) == 1
    (delivery,) = [d for d in store.get_alert_deliveries(alert.id) if d.channel_name == "hook"]
    assert delivery.state == "sent" and delivery.attempts == 2


def test_queue_rules(store: Store, smtp: SmtpSink, hook: WebhookSink) -> None:
    configure(store, smtp, hook)
    store.save_alert_rule("queue_backlog", enabled=True, threshold=30)
    store.save_alert_rule("queue_failures", enabled=True, threshold=2)
    store.set_alert_recipients("queue", "orders", "orders-team@example.com")
    store.create_queue_element("orders", "old one")
    store.create_queue_element("fresh", "new one")
    elements = table_of(store.get_queue_elements("orders")[0].__class__)
    with store.engine.begin() as connection:
        connection.execute(
            sa.update(elements)
            .where(elements.c.queue_name == "orders")
            .values(created_date=datetime.now() - timedelta(hours=2))
        )
    for index in range(3):
        element = store.create_queue_element("payments", f"p{index}")
        store.set_queue_element_status(element.id, QueueStatus.FAILED)
    (watchdog,) = watchdogs(store, [], 1)
    watchdog.tick()
    mails = smtp.wait_for(2)
    subjects = sorted(mail["Subject"] for mail in mails)
    assert subjects == [
        "[openorch] Queue 'orders' has a backlog",
        "[openorch] Queue 'payments': 3 elements failed in the last hour",
    ]
    orders = next(e for m, e in zip(mails, smtp.envelopes, strict=True) if "orders" in m["Subject"])
    assert "orders-team@example.com" in orders[1]


def test_overdue_whatever_the_status(store: Store, smtp: SmtpSink, hook: WebhookSink) -> None:
    configure(store, smtp, hook)
    store.save_alert_rule("trigger_overdue", enabled=True, threshold=10)
    late = datetime.now() - timedelta(minutes=20)
    paused = store.create_scheduled_trigger(
        "weekly", "p", "0 7 * * 1", late, "/p.py", None, False, True
    )
    store.set_trigger_status(paused, "PAUSED")
    store.create_single_trigger("recent", "p", datetime.now(), "/p.py", None, False, True)
    (watchdog,) = watchdogs(store, [], 1)
    watchdog.tick()
    (mail,) = smtp.wait_for(1)
    assert mail["Subject"] == "[openorch] Trigger 'weekly' is overdue"
    assert "PAUSED" in mail.get_content()


def test_process_raises_an_alert_with_a_screenshot(
    store: Store, db_url: str, crypto_key: str, smtp: SmtpSink, hook: WebhookSink, tmp_path
) -> None:
    configure(store, smtp, hook)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10
    (tmp_path / "screen.png").write_bytes(png)
    with OrchestratorConnection("invoices", db_url, crypto_key, "") as connection:
        connection.raise_alert(
            "Portal down", "The login page did not load.", attachment=tmp_path / "screen.png"
        )
        with pytest.raises(ValueError, match="too large"):
            connection.raise_alert("Big", "x", attachment=b"0" * 1_000_001)
        with pytest.raises(ValueError, match="subject"):
            connection.raise_alert("", "x")
    (watchdog,) = watchdogs(store, [], 1)
    watchdog.tick()
    (mail,) = smtp.wait_for(1)
    assert mail["Subject"] == "[openorch] Portal down"
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "screen.png"
    assert attachment.get_content_type() == "image/png"
    assert attachment.get_content() == png
    assert hook.wait_for(1)[0]["attachment_name"] == "screen.png"
    assert len(store.get_alerts()) == 1


def test_send_a_test_and_clear_errors(store: Store, smtp: SmtpSink, hook: WebhookSink) -> None:
    configure(store, smtp, hook)
    send_test(store, "mail")
    send_test(store, "hook")
    assert smtp.wait_for(1)[0]["Subject"] == "[openorch] Test: channel 'mail' works"
    assert hook.wait_for(1)[0]["event"] == "test"

    store.update_credential("smtp login", "robot@example.com", "wrong")
    with pytest.raises(SendError, match="refused the login of credential 'smtp login'"):
        send_test(store, "mail")
    smtp.stop()
    with pytest.raises(SendError, match="Cannot reach the SMTP server"):
        send_test(store, "mail")


def test_bad_channel_input_is_refused(store: Store) -> None:
    before = store.get_alert_channels()
    with pytest.raises(ValueError, match="credential"):
        store.save_alert_channel(
            "m",
            "email",
            smtp_host="h",
            smtp_port=25,
            smtp_security="starttls",
            sender="a@b.c",
            credential_name="nope",
        )
    with pytest.raises(ValueError, match="security"):
        store.save_alert_channel(
            "m", "email", smtp_host="h", smtp_port=25, smtp_security="ssl", sender="a@b.c"
        )
    with pytest.raises(ValueError, match="not an email address"):
        store.save_alert_channel(
            "m",
            "email",
            smtp_host="h",
            smtp_port=25,
            smtp_security="tls",
            sender="a@b.c",
            recipients="bob",
        )
    with pytest.raises(ValueError, match="name must not be empty"):
        store.save_alert_channel(
            "  ", "webhook", webhook_url="https://x.org/h", webhook_format="plain"
        )
    with pytest.raises(ValueError, match="http"):
        store.save_alert_channel("w", "webhook", webhook_url="ftp://x/y", webhook_format="plain")
    with pytest.raises(ValueError, match="threshold"):
        store.save_alert_rule("trigger_overdue", enabled=True, threshold=0)
    with pytest.raises(ValueError, match="No alert channel"):
        store.save_alert_rule("job_failed", enabled=True, channels=["ghost"])
    assert store.get_alert_channels() == before
    assert not store.get_alert_rule("trigger_overdue").enabled


def test_lease_goes_to_one_holder_and_passes_on_expiry(store: Store) -> None:
    assert store.acquire_watchdog_lease("a", 60)
    assert not store.acquire_watchdog_lease("b", 60)
    assert store.acquire_watchdog_lease("a", 60)
    store.release_watchdog_lease("a")
    assert store.acquire_watchdog_lease("b", 0.3)
    assert not store.acquire_watchdog_lease("a", 60)
    import time

    time.sleep(0.6)
    assert store.acquire_watchdog_lease("a", 60)
    lease = store.get_watchdog_lease()
    assert lease is not None and lease.holder == "a"
    time.sleep(0.05)
    assert store.acquire_watchdog_lease("a", 60)  # renewal keeps when "a" took it
    renewed = store.get_watchdog_lease()
    assert renewed is not None and renewed.acquired_at == lease.acquired_at
    assert renewed.expires_at > lease.expires_at


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_smtp_over_starttls_and_tls_verifies_the_certificate(
    sqlite_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    security: str,
) -> None:
    cert, key = make_certificate(tmp_path)
    sink = SmtpSink(
        login=(USERNAME, PASSWORD), tls=security, context=server_context(cert, key)
    ).start()
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    try:
        store.create_credential("login", USERNAME, PASSWORD)
        store.save_alert_channel(
            "mail",
            "email",
            smtp_host="127.0.0.1",
            smtp_port=sink.port,
            smtp_security=security,
            credential_name="login",
            sender="o@example.com",
            recipients="team@example.com",
        )
        # Not trusted yet: the certificate check refuses the server.
        with pytest.raises(SendError, match="CERTIFICATE_VERIFY_FAILED"):
            send_test(store, "mail")
        assert sink.logins == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        send_test(store, "mail")
        assert sink.wait_for(1)[0]["Subject"] == "[openorch] Test: channel 'mail' works"
        assert sink.logins == [(USERNAME, PASSWORD)]
    finally:
        sink.stop()
        store.close()


def test_a_database_without_alert_tables_is_named_not_crashed(sqlite_empty_url: str) -> None:
    from openorch import migrate
    from openorch.store import build_engine

    engine = build_engine(sqlite_empty_url)
    migrate.upgrade(engine, "a3f1c0de0001")  # before the alerts revision
    lines: list[str] = []
    watchdog = Watchdog(Store(engine), "old", lines.append, interval=1.0)
    watchdog.start()
    deadline = datetime.now() + timedelta(seconds=10)
    while not lines and datetime.now() < deadline:
        import time

        time.sleep(0.05)
    watchdog.stop()
    engine.dispose()
    assert lines == [
        "Watchdog: the database has no alert tables yet: run `openorch upgrade` on it; "
        "alerts are off until then."
    ]


def test_a_failure_the_process_reported_is_sent_once_and_not_recovered(
    store: Store, smtp: SmtpSink, hook: WebhookSink
) -> None:
    """Exit 0 after report_failure: the job is FAILED, its trigger goes on (IDLE), so the
    alert is closed at once: one message, no "recovered" right after."""
    configure(store, smtp, hook)
    store.save_alert_rule("job_failed", enabled=True)
    trigger_id = store.create_single_trigger(
        "portal", "portal", datetime.now(), "/robots/portal.py", None, False, True
    )
    job = store.start_job("portal", "robot-3", trigger_id)
    store.report_job_outcome(job.id, "FAILED", "3 of 40 invoices were rejected")
    store.end_job_after_exit(job.id, 0)
    assert store.get_job(job.id).status is JobStatus.FAILED
    (watchdog,) = watchdogs(store, [], 1)
    for _round in range(3):
        watchdog.tick()
    (mail,) = smtp.wait_for(1)
    assert mail["Subject"] == "[openorch] Job of trigger 'portal' failed"
    assert "The process reported: 3 of 40 invoices were rejected" in mail.get_content()
    assert "will not run again" not in mail.get_content()
    assert len(smtp.messages) == 1 and len(hook.bodies) == 1
    (alert,) = store.get_alerts()
    assert alert.closed_at is not None


def test_queue_elements_past_their_deadline(
    store: Store, smtp: SmtpSink, hook: WebhookSink
) -> None:
    configure(store, smtp, hook)
    store.save_alert_rule("queue_deadline", enabled=True, threshold=2)
    late = datetime.now() - timedelta(minutes=5)
    for index in range(2):
        store.create_queue_element("invoices", f"late {index}", deadline=late)
    store.create_queue_element("invoices", "in time", deadline=datetime.now() + timedelta(days=1))
    store.create_queue_element("payments", "one late", deadline=late)  # under the threshold
    (watchdog,) = watchdogs(store, [], 1)
    watchdog.tick()
    (mail,) = smtp.wait_for(1)
    assert mail["Subject"] == "[openorch] Queue 'invoices': 2 elements passed their deadline"
    # Done: the condition clears, one "recovered".
    for element in store.get_queue_elements("invoices"):
        store.set_queue_element_status(element.id, QueueStatus.DONE)
    watchdog.tick()
    watchdog.tick()
    mails = smtp.wait_for(2)
    assert mails[1]["Subject"] == (
        "[openorch] Recovered: Queue 'invoices': 2 elements passed their deadline"
    )
    assert len(smtp.messages) == 2 and len(hook.bodies) == 2

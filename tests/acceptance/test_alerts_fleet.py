"""Alerts from a fleet of real headless Schedulers on PostgreSQL, to a real SMTP server
(aiosmtpd, with a login) and a real webhook receiver.

- three Schedulers and a failing process: exactly one email and one webhook call;
- the watchdog's Scheduler SIGKILLed: another takes over within a minute; an overdue
  trigger, the dead Scheduler and a failing process are each reported once per channel,
  and each "recovered" once when fixed;
- the SMTP server down for a minute: the alert arrives afterwards, once;
- the SMTP password appears in no Scheduler output and not in clear in the database.
"""

import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from openorch.store import Store
from support.dump import as_text, dump_tables
from support.headless import Headless
from support.processes.harness import script, single_due
from support.receivers import SMTP_LOGIN, SmtpSink, WebhookSink

pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals"),
    pytest.mark.postgres,
    pytest.mark.slow,
]

USERNAME, PASSWORD = SMTP_LOGIN


@pytest.fixture
def fleet() -> Iterator[dict[str, Headless]]:
    started: dict[str, Headless] = {}
    yield started
    for one in started.values():
        one.kill()


def start(
    fleet: dict[str, Headless], name: str, url: str, key: str, folder: Path, *flags: str
) -> Headless:
    home = folder / name
    home.mkdir(exist_ok=True)
    fleet[name] = Headless(home, url, key, "--name", name, "--poll-interval", "0.5", *flags)
    return fleet[name]


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, fleet: dict[str, Headless]
) -> float:
    """Wait until `condition()` holds; returns the seconds it took."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            outputs = "\n---\n".join(f"{n}:\n{one.text()[-2500:]}" for n, one in fleet.items())
            raise AssertionError(f"timed out after {timeout} s waiting for {what}:\n{outputs}")
        time.sleep(0.2)
    return time.monotonic() - began


def configure(store: Store, smtp: SmtpSink, hook: WebhookSink) -> None:
    store.create_credential("mail login", USERNAME, PASSWORD)
    store.save_alert_channel(
        "mail",
        "email",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        credential_name="mail login",
        sender="openorch@example.com",
        recipients="rpa-team@example.com",
    )
    store.save_alert_channel("teams", "webhook", webhook_url=hook.url(), webhook_format="teams")


def subjects(smtp: SmtpSink) -> list[str]:
    return sorted(str(message["Subject"]) for message in smtp.messages)


def assert_no_secret(fleet: dict[str, Headless], store: Store) -> None:
    for one in fleet.values():
        assert PASSWORD not in one.text()
        assert "SECRET-TOKEN" not in one.text()
        assert "Traceback" not in one.text(), one.text()
    stored = as_text(dump_tables(store.engine))
    assert PASSWORD not in stored and "SECRET-TOKEN" not in stored


def test_three_schedulers_and_a_failing_process_send_one_email_and_one_webhook_call(
    pg_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    smtp: SmtpSink,
    hook: WebhookSink,
    fleet: dict[str, Headless],
) -> None:
    store = Store(pg_db_url, crypto_key=crypto_key)
    configure(store, smtp, hook)
    store.save_alert_rule("job_failed", enabled=True)
    for name in ("s0", "s1", "s2"):
        start(fleet, name, pg_db_url, crypto_key, tmp_path, "--watchdog-interval", "2")
    wait_for(lambda: store.get_watchdog_lease() is not None, 30, "a lease holder", fleet)

    single_due(store, script("fail.py"), name="invoices")

    wait_for(lambda: len(smtp.messages) >= 1 and len(hook.bodies) >= 1, 60, "the alert", fleet)
    time.sleep(6)  # three more evaluations: nothing else may arrive
    assert subjects(smtp) == ["[openorch] Job of trigger 'invoices' failed (exit code 1)"]
    assert len(hook.bodies) == 1
    card = hook.bodies[0]["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"
    assert "THE LAST LINE OF STDERR" in card["body"][1]["text"]
    text = smtp.messages[0].get_content()
    assert "THE LAST LINE OF STDERR" in text and "Machine (Scheduler): s" in text
    assert smtp.logins == [(USERNAME, PASSWORD)]
    assert_no_secret(fleet, store)
    store.close()


def test_watchdog_killed_another_takes_over_and_reports_once(
    pg_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    smtp: SmtpSink,
    hook: WebhookSink,
    fleet: dict[str, Headless],
) -> None:
    store = Store(pg_db_url, crypto_key=crypto_key)
    configure(store, smtp, hook)
    store.save_alert_rule("trigger_overdue", enabled=True, threshold=1)
    store.save_alert_rule("scheduler_silent", enabled=True, threshold=1)
    store.save_alert_rule("job_failed", enabled=True)
    long_ago = datetime.now() - timedelta(minutes=30)
    first = store.create_single_trigger(
        "month end", "p", long_ago, "/nowhere.py", None, False, True
    )
    store.set_trigger_status(first, "PAUSED")  # paused and overdue: still reported
    for name in ("s0", "s1", "s2"):
        start(fleet, name, pg_db_url, crypto_key, tmp_path, "--watchdog-interval", "10")
    wait_for(
        lambda: len(smtp.messages) >= 1 and len(hook.bodies) >= 1,
        40,
        "the first overdue alert",
        fleet,
    )
    lease = store.get_watchdog_lease()
    assert lease is not None
    holder = lease.holder.split(" ")[0]

    fleet[holder].process.send_signal(signal.SIGKILL)
    fleet[holder].process.wait()
    second = store.create_single_trigger("payroll", "p", long_ago, "/nowhere.py", None, False, True)
    store.set_trigger_status(second, "FAILED")

    def taken_over() -> bool:
        lease = store.get_watchdog_lease()
        return lease is not None and not lease.holder.startswith(holder + " ")

    took = wait_for(taken_over, 60, "another Scheduler to take the lease", fleet)
    assert took < 60
    wait_for(lambda: len(smtp.messages) >= 3, 120, "the second overdue and the silent alert", fleet)
    time.sleep(12)  # another evaluation: no repeats
    assert subjects(smtp) == sorted(
        [
            "[openorch] Trigger 'month end' is overdue",
            "[openorch] Trigger 'payroll' is overdue",
            f"[openorch] Scheduler '{holder}' is silent",
        ]
    )
    assert len(hook.bodies) == 3

    # A failing process under the new watchdog: one message per channel.
    failing = single_due(store, script("fail.py"), name="after takeover")
    wait_for(lambda: len(smtp.messages) >= 4, 60, "the failed-job alert", fleet)

    # Fixed: the trigger's time moved on, the Scheduler is back, the failed trigger is
    # disabled by the admin → one "recovered" each.
    moved = store.get_trigger(first)
    moved.next_run = datetime.now() + timedelta(days=1)  # type: ignore[attr-defined]
    store.update_trigger(moved)
    store.set_trigger_status(failing, "PAUSED")
    start(fleet, holder, pg_db_url, crypto_key, tmp_path, "--watchdog-interval", "10")
    wait_for(lambda: len(smtp.messages) >= 7, 60, "three recovered notices", fleet)
    time.sleep(12)
    recovered = [s for s in subjects(smtp) if "Recovered" in s]
    assert recovered == [
        "[openorch] Recovered: Job of trigger 'after takeover' failed (exit code 1)",
        f"[openorch] Recovered: Scheduler '{holder}' is silent",
        "[openorch] Recovered: Trigger 'month end' is overdue",
    ]
    assert "[openorch] Job of trigger 'after takeover' failed (exit code 1)" in subjects(smtp)
    assert len(smtp.messages) == 7 and len(hook.bodies) == 7
    assert_no_secret({k: v for k, v in fleet.items() if k != holder}, store)
    store.close()


def test_smtp_down_for_a_minute_the_alert_arrives_afterwards_once(
    pg_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    smtp: SmtpSink,
    hook: WebhookSink,
    fleet: dict[str, Headless],
) -> None:
    store = Store(pg_db_url, crypto_key=crypto_key)
    configure(store, smtp, hook)
    store.save_alert_rule("job_failed", enabled=True)
    smtp.stop()
    start(fleet, "s0", pg_db_url, crypto_key, tmp_path, "--watchdog-interval", "2")
    down_since = time.monotonic()
    single_due(store, script("fail.py"), name="invoices")
    wait_for(lambda: len(hook.bodies) >= 1, 60, "the webhook call", fleet)
    wait_for(lambda: "could not send via mail" in fleet["s0"].text(), 30, "a failed try", fleet)
    time.sleep(max(0.0, 60 - (time.monotonic() - down_since)))
    smtp.start()

    wait_for(lambda: len(smtp.messages) >= 1, 120, "the email after the outage", fleet)
    time.sleep(5)
    assert subjects(smtp) == ["[openorch] Job of trigger 'invoices' failed (exit code 1)"]
    assert len(hook.bodies) == 1
    (alert,) = store.get_alerts()
    mail = next(d for d in store.get_alert_deliveries(alert.id) if d.channel_name == "mail")
    assert mail.state == "sent" and mail.attempts >= 3
    assert_no_secret(fleet, store)
    store.close()


def test_a_scheduler_with_its_clock_five_minutes_ahead_is_reported(
    pg_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    smtp: SmtpSink,
    hook: WebhookSink,
    fleet: dict[str, Headless],
) -> None:
    """libfaketime moves one Scheduler's clock; the database server's clock judges it."""
    if shutil.which("faketime") is None:
        pytest.skip("faketime (libfaketime) is not installed")
    store = Store(pg_db_url, crypto_key=crypto_key)
    configure(store, smtp, hook)
    store.save_alert_rule("scheduler_clock", enabled=True, threshold=120)
    home = tmp_path / "skewed"
    home.mkdir()
    fleet["skewed"] = Headless(
        home,
        pg_db_url,
        crypto_key,
        "--name",
        "skewed",
        "--watchdog-interval",
        "2",
        wrapper=["faketime", "-f", "+300s"],
    )
    wait_for(lambda: len(smtp.messages) >= 1, 60, "the clock alert", fleet)
    time.sleep(5)
    assert subjects(smtp) == ["[openorch] Scheduler 'skewed': clock is off"]
    assert "s ahead of the database server's" in smtp.messages[0].get_content()
    assert len(hook.bodies) == 1
    store.close()

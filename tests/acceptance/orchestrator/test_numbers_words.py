"""Numbers and words that misled a new admin (issue 25): short job ids that all read
the same, a past Next Run on finished single triggers, Overdue the moment a trigger is
saved, Attempts 0 on a failed element, "100 encrypted bytes", the Alerts tab's empty
tables and "1 elements", and a stale key line in Settings."""

from datetime import datetime, timedelta

from nicegui.testing.user import User

from openorch.database import LogLevel, QueueStatus, TriggerStatus
from openorch.store import Store
from support.ui import click_row, has, one, show_tab, table_rows, until


async def test_short_job_ids_differ(connected: User, db: Store) -> None:
    user = connected
    jobs = [db.start_job("invoices", "robot-1") for _ in range(6)]
    for job in jobs:
        db.create_log("invoices", LogLevel.INFO, job.id, "hello")
    await show_tab(user, "Logs")
    await until(lambda: len(table_rows(user, "logs_table")) == 6)
    shown = [row["job_id"] for row in table_rows(user, "logs_table")]
    assert len(set(shown)) == 6, shown  # time-ordered ids: the start was the same for all
    for row in table_rows(user, "logs_table"):
        assert row["job_id"] == "…" + row["job_id_full"][-8:]
    assert "body-cell-job_id" in one(user, "logs_table").slots  # the whole id on hover


async def test_next_run_and_overdue_say_what_is_true(connected: User, db: Store) -> None:
    user = connected
    now = datetime.now()
    db.create_single_trigger(
        "just saved", "p", now - timedelta(seconds=3), "p.py", None, False, True
    )
    db.create_single_trigger(
        "forgotten", "p", now - timedelta(minutes=2), "p.py", None, False, True
    )
    for name, status in (("done", TriggerStatus.DONE), ("failed", TriggerStatus.FAILED)):
        trigger_id = db.create_single_trigger(
            name, "p", now - timedelta(hours=1), "p.py", None, False, True
        )
        db.set_trigger_status(trigger_id, status)
    await show_tab(user, "Triggers")
    await until(lambda: len(table_rows(user, "trigger_table")) == 4)
    rows = {row["trigger_name"]: row for row in table_rows(user, "trigger_table")}
    assert not rows["just saved"]["overdue"]  # a Scheduler has not had its poll yet
    assert rows["forgotten"]["overdue"]
    assert rows["done"]["next_run"] == "None" and rows["failed"]["next_run"] == "None"
    assert rows["forgotten"]["next_run"] not in ("None", "N/A")


async def test_a_failed_element_counts_its_attempt(connected: User, db: Store) -> None:
    user = connected
    failed = db.create_queue_element("invoices", "failed-one")
    db.set_queue_element_status(failed.id, QueueStatus.IN_PROGRESS)
    db.set_queue_element_status(failed.id, QueueStatus.FAILED, "bad invoice")
    db.create_queue_element("invoices", "waiting")
    await show_tab(user, "Queues")
    await until(lambda: table_rows(user, "queues_table"))
    click_row(user, "queues_table", table_rows(user, "queues_table")[0])
    await until(lambda: has(user, "queue_dialog_table") and table_rows(user, "queue_dialog_table"))
    attempts = {row["reference"]: row["attempts"] for row in table_rows(user, "queue_dialog_table")}
    assert attempts == {"failed-one": 1, "waiting": 0}


async def test_credentials_say_password_set(connected: User, db: Store) -> None:
    user = connected
    db.create_credential("mail", "robot", "s3cret-pw")
    await show_tab(user, "Constants")
    await until(lambda: table_rows(user, "credentials_table"))
    (row,) = table_rows(user, "credentials_table")
    assert row["password"] == "Password set (encrypted)"
    assert "bytes" not in str(row) and "s3cret" not in str(row)


async def test_alerts_tables_have_titles_grey_empty_text_and_singulars(
    connected: User, db: Store
) -> None:
    user = connected
    db.save_alert_rule("queue_deadline", enabled=True, threshold=1)
    await show_tab(user, "Alerts")
    await until(lambda: table_rows(user, "alerts_rules_table"))
    titles = {
        marker: one(user, marker).props.get("title")
        for marker in ("alerts_channels_table", "alerts_rules_table", "alerts_recipients_table")
    }
    assert titles == {
        "alerts_channels_table": "Channels",
        "alerts_rules_table": "Rules",
        "alerts_recipients_table": "Recipients per trigger or queue",
    }
    for marker in ("alerts_channels_table", "alerts_recipients_table", "alerts_history_table"):
        assert "no-data" in one(user, marker).slots, marker  # grey text, no warning sign
    rules = {row["kind"]: row for row in table_rows(user, "alerts_rules_table")}
    assert rules["queue_deadline"]["threshold"] == "1 element past its deadline (at least)"


async def test_settings_key_line_follows_a_new_credential(connected: User, db: Store) -> None:
    user = connected
    await show_tab(user, "Settings")
    assert "no credentials in this database" in one(user, "settings_key_label").text
    db.create_credential("mail", "robot", "secret")  # e.g. in Constants, or by another admin
    await show_tab(user, "Constants")
    await show_tab(user, "Settings")
    await until(lambda: "it matches" in one(user, "settings_key_label").text)

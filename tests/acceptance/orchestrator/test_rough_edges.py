"""The rough edges a new admin hit (issue 18): paging on first render, rows-per-page
choices, Overdue, Run now, the tab order and first tab, table titles, the log popup's
job logs, Created By, empty tables, New Queue and the Local mode banner."""

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.testing.user import User

from openorch.config import ENV_CONN, ENV_KEY
from openorch.database import JobStatus, LogLevel, TriggerStatus
from openorch.store import Store
from support.ui import click_and_wait, click_row, has, one, set_value, show_tab, table_rows, until


def seed_queue(db: Store, count: int = 120) -> None:
    db.bulk_create_queue_elements(
        "invoices",
        [f"ref-{index:03d}" for index in range(count)],
        [json.dumps({"index": index}) for index in range(count)],
        created_by="test",
    )


async def test_first_pagination_report_keeps_the_server_total(connected: User, db: Store) -> None:
    """Quasar reports its initial pagination (total 0) when a server table appears; the
    footer must keep the server's count ("1-50 of 120", with page arrows)."""
    user = connected
    seed_queue(db)
    await show_tab(user, "Queues")
    await until(lambda: table_rows(user, "queues_table"))
    click_row(user, "queues_table", table_rows(user, "queues_table")[0])
    await until(lambda: has(user, "queue_dialog_table") and table_rows(user, "queue_dialog_table"))
    table = one(user, "queue_dialog_table")
    assert table.pagination["rowsNumber"] == 120
    # What the browser sends right after the table first renders.
    user.find(marker="queue_dialog_table").trigger(
        "update:pagination",
        {
            "page": 1,
            "rowsPerPage": 50,
            "sortBy": "created_date",
            "descending": True,
            "rowsNumber": 0,
        },
    )
    assert table.pagination["rowsNumber"] == 120
    assert table.pagination["rowsPerPage"] == 50


async def test_rows_per_page_choices_are_a_list(connected: User) -> None:
    """A ":"-prop is evaluated as JavaScript, where "[25,50,100,200]" became the number
    200 and Quasar hid the selector: the choices must travel as data."""
    user = connected
    for marker in ("trigger_table", "jobs_table", "logs_table", "queues_table", "constants_table"):
        table = one(user, marker)
        assert table.props.get("rows-per-page-options") == [25, 50, 100, 200], marker
        assert not any(key.startswith(":rows-per-page") for key in table.props), marker


async def test_overdue_only_when_due_and_not_started(connected: User, db: Store) -> None:
    user = connected
    past = datetime.now() - timedelta(hours=1)
    for name, status in (
        ("idle", None),
        ("running", TriggerStatus.RUNNING),
        ("done", TriggerStatus.DONE),
        ("failed", TriggerStatus.FAILED),
        ("killed", TriggerStatus.KILLED),
        ("paused", TriggerStatus.PAUSED),
    ):
        trigger_id = db.create_single_trigger(name, "p", past, "C:/p.py", None, False, True)
        if status is not None:
            db.set_trigger_status(trigger_id, status)
    db.create_single_trigger(
        "future", "p", datetime.now() + timedelta(hours=1), "C:/p.py", None, False, True
    )
    await show_tab(user, "Triggers")
    await until(lambda: len(table_rows(user, "trigger_table")) == 7)
    overdue = {row["trigger_name"] for row in table_rows(user, "trigger_table") if row["overdue"]}
    assert overdue == {"idle"}


async def test_run_now_without_a_question(connected: User, db: Store) -> None:
    user = connected
    await show_tab(user, "Triggers")
    await click_and_wait(user, "trigger_new_single_button", "trigger_popup_save_button")
    # The time is pre-filled with now.
    assert one(user, "trigger_popup_time_date").value == datetime.now().strftime("%d-%m-%Y")
    assert one(user, "trigger_popup_time_time").value
    user.find(marker="trigger_popup_name_input").type("now")
    user.find(marker="trigger_popup_process_input").type("p")
    user.find(marker="trigger_popup_path_input").type("C:/p.py")
    set_value(user, "trigger_popup_time_date", "01-01-2021")
    user.find(marker="trigger_popup_now_button").click()  # back to now
    user.find(marker="trigger_popup_save_button").click()
    await until(lambda: len(db.get_all_triggers()) == 1)
    assert not has(user, "question_popup")
    trigger = db.get_all_triggers()[0]
    assert abs(trigger.next_run - datetime.now()) < timedelta(minutes=2)  # type: ignore[attr-defined]


async def test_tab_order_titles_and_overview_once_connected(user: User) -> None:
    await user.open("/")
    tabs = [
        element for element in one(user, "header_tabs").descendants() if isinstance(element, ui.tab)
    ]
    assert [tab._props["name"] for tab in tabs] == [
        "Overview",
        "Triggers",
        "Queues",
        "Review",
        "Schedulers",
        "Jobs",
        "Logs",
        "Constants",
        "API",
        "Alerts",
        "Audit",
        "Settings",
    ]
    assert one(user, "tab_panels").value != "Overview"
    assert not next(tab for tab in tabs if tab._props["name"] == "Overview").visible
    user.find(marker="settings_connect_button").click()
    await user.should_see("Connected!", retries=100)  # connecting runs off the event loop
    assert next(tab for tab in tabs if tab._props["name"] == "Overview").visible
    titles = {
        marker: one(user, marker).props.get("title")
        for marker in (
            "trigger_table",
            "queues_table",
            "schedulers_table",
            "jobs_table",
            "logs_table",
            "constants_table",
            "credentials_table",
        )
    }
    assert titles == {
        "trigger_table": "Triggers",
        "queues_table": "Queues",
        "schedulers_table": "Schedulers",
        "jobs_table": "Jobs",
        "logs_table": "Logs",
        "constants_table": "Constants",
        "credentials_table": "Credentials",
    }
    # Empty tables say so in grey text, not with Quasar's black warning triangle.
    assert "no-data" in one(user, "jobs_table").slots
    user.find(marker="settings_disconnect_button").click()
    await user.should_see("Disconnected.")
    assert not next(tab for tab in tabs if tab._props["name"] == "Overview").visible


async def test_local_mode_opens_on_overview_and_banner_follows_the_database(
    user: User, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_db_url: str
) -> None:
    monkeypatch.delenv(ENV_CONN)
    monkeypatch.delenv(ENV_KEY)
    await user.open("/")
    await until(lambda: one(user, "tab_panels").value == "Overview")
    label = one(user, "settings_local_label")
    assert label.visible and "Local mode" in label.text
    assert "text-blue-10" in label.classes
    user.find(marker="settings_disconnect_button").click()
    await user.should_see("Disconnected.")
    assert one(user, "tab_panels").value == "Settings"
    set_value(user, "settings_conn_input", sqlite_db_url)  # another database
    assert not has(user, "settings_local_label")


async def test_log_popup_shows_the_jobs_logs(connected: User, db: Store) -> None:
    user = connected
    job = db.start_job("invoices", "robot-1")
    for index in range(3):
        db.create_log("invoices", LogLevel.INFO, job.id, f"line {index}")
    db.create_log("other", LogLevel.INFO, None, "not this job")
    db.end_job(job.id, JobStatus.DONE)
    await show_tab(user, "Logs")
    await until(lambda: len(table_rows(user, "logs_table")) == 4)
    row = next(row for row in table_rows(user, "logs_table") if row["log_message"] == "line 1")
    click_row(user, "logs_table", row)
    await until(lambda: has(user, "log_popup_job_logs_button"))
    user.find(marker="log_popup_job_logs_button").click()
    await until(
        lambda: has(user, "job_logs_table") and len(table_rows(user, "job_logs_table")) == 3
    )
    assert {r["log_message"] for r in table_rows(user, "job_logs_table")} == {
        "line 0",
        "line 1",
        "line 2",
    }


async def test_new_queue_from_the_queues_tab_with_created_by(connected: User, db: Store) -> None:
    user = connected
    await show_tab(user, "Queues")
    await click_and_wait(user, "queue_new_button", "queue_element_popup_save_button")
    assert one(user, "queue_element_popup_created_by_input").value == "Orchestrator UI"
    user.find(marker="queue_element_popup_save_button").click()
    await user.should_see("Queue Name is required.")
    user.find(marker="queue_element_popup_queue_input").type("fresh")
    user.find(marker="queue_element_popup_reference_input").type("first")
    user.find(marker="queue_element_popup_save_button").click()
    await until(lambda: db.get_queue_elements("fresh"))
    element = db.get_queue_elements("fresh")[0]
    assert element.reference == "first" and element.created_by == "Orchestrator UI"
    await until(lambda: [r for r in table_rows(user, "queues_table") if r["queue_name"] == "fresh"])

"""The Overview tab: its figures, its chart, and every figure leading to the filtered tab
behind it."""

from datetime import datetime, timedelta

from nicegui.testing.user import User

from openorch.database import JobStatus, LogLevel, TriggerStatus
from openorch.store import Store
from support.ui import click_row, has, one, show_tab, table_rows, until


def seed(db: Store) -> None:
    for process, status in (
        ("invoices", JobStatus.DONE),
        ("invoices", JobStatus.FAILED),
        ("invoices", JobStatus.FAILED),
        ("reports", JobStatus.FAILED),
    ):
        job = db.start_job(process, "robot-1")
        db.create_log(
            process,
            LogLevel.ERROR if status == JobStatus.FAILED else LogLevel.INFO,
            job.id,
            "outcome",
        )
        db.end_job(job.id, status)
    db.start_job("reports", "robot-1")  # running now
    db.send_ping_from_scheduler("robot-1")
    db.bulk_create_queue_elements("invoices", [f"r{n}" for n in range(5)], [None] * 5)
    failed = db.create_single_trigger(
        "broken", "p", datetime.now() + timedelta(hours=1), "C:/p.py", None, False, True
    )
    db.set_trigger_status(failed, TriggerStatus.FAILED)
    db.create_single_trigger(
        "late", "p", datetime.now() - timedelta(hours=1), "C:/p.py", None, False, True
    )
    db.create_single_trigger(
        "fine", "p", datetime.now() + timedelta(hours=1), "C:/p.py", None, False, True
    )


async def open_overview(user: User) -> None:
    await show_tab(user, "Overview")
    await until(lambda: table_rows(user, "overview_queues_table"))


async def test_overview_figures(connected: User, db: Store) -> None:
    user = connected
    seed(db)
    await open_overview(user)
    assert one(user, "overview_jobs_24h_failed").text == "3 Failed"
    assert one(user, "overview_jobs_24h_done").text == "1 Done"
    assert one(user, "overview_jobs_7d_running").text == "1 Running"
    assert one(user, "overview_errors_24h").text == "3 Errors"
    failures = {
        row["process_name"]: row["failures"] for row in table_rows(user, "overview_failures_table")
    }
    assert failures == {"invoices": 2, "reports": 1}
    queue = table_rows(user, "overview_queues_table")[0]
    assert queue["queue_name"] == "invoices" and queue["new"] == 5
    scheduler = table_rows(user, "overview_schedulers_table")[0]
    assert scheduler["alive"] == "Alive" and scheduler["running"] == "reports"
    attention = {
        row["trigger_name"]: row["problem"] for row in table_rows(user, "overview_attention_table")
    }
    assert attention == {"broken": "Failed", "late": "Overdue"}
    chart = one(user, "overview_chart")
    series = {serie["name"]: serie["data"] for serie in chart.options["series"]}
    assert series["Failed"][-1] == 3 and series["Done"][-1] == 1 and len(series["Done"]) == 7


async def test_open_alerts_lead_to_the_alerts_tab(connected: User, db: Store) -> None:
    user = connected
    seed(db)
    closed = db.open_alert("job_failed", "job:closed", "closed one", "body")
    assert closed is not None
    db.close_alert(closed.id, notify=False)
    db.open_alert("job_killed", "job:open", "open one", "body")
    await open_overview(user)
    assert one(user, "overview_open_alerts").text == "1 Open"
    rows = table_rows(user, "overview_alerts_table")
    assert [(row["rule"], row["subject"]) for row in rows] == [("job_killed", "job:open")]

    user.find(marker="overview_open_alerts").click()
    await until(lambda: one(user, "tab_panels").value == "Alerts")
    await until(
        lambda: [row["title"] for row in table_rows(user, "alerts_history_table")] == ["open one"]
    )
    assert one(user, "alerts_open_only_checkbox").value is True

    # Unticking the filter shows the whole history again.
    one(user, "alerts_open_only_checkbox").value = False
    await until(lambda: len(table_rows(user, "alerts_history_table")) == 2)

    await open_overview(user)
    click_row(user, "overview_alerts_table", {"subject": "job:open"})
    await until(lambda: one(user, "tab_panels").value == "Alerts")
    await until(lambda: len(table_rows(user, "alerts_history_table")) == 1)
    assert one(user, "alerts_open_only_checkbox").value is True


async def test_figures_lead_to_the_filtered_tab(connected: User, db: Store) -> None:
    user = connected
    seed(db)
    await open_overview(user)

    click_row(user, "overview_failures_table", {"process_name": "invoices", "failures": 2})
    await until(lambda: one(user, "tab_panels").value == "Jobs")
    await until(lambda: len(table_rows(user, "jobs_table")) == 2)
    assert one(user, "jobs_status_select").value == "Failed"
    assert one(user, "jobs_process_select").value == "invoices"
    # Only the window the figure counted: from 7 days before the figures were read.
    week_ago = (datetime.now() - timedelta(days=7)).strftime("%d-%m-%Y")
    assert one(user, "jobs_from_date").value == week_ago

    await open_overview(user)
    user.find(marker="overview_errors_24h").click()
    await until(lambda: one(user, "tab_panels").value == "Logs")
    await until(lambda: len(table_rows(user, "logs_table")) == 3)
    assert one(user, "logs_level_select").value == "Error"

    await open_overview(user)
    user.find(marker="overview_jobs_7d_done").click()
    await until(lambda: one(user, "tab_panels").value == "Jobs")
    await until(lambda: [row["status"] for row in table_rows(user, "jobs_table")] == ["Done"])

    await open_overview(user)
    click_row(user, "overview_attention_table", {"trigger_name": "late"})
    await until(lambda: one(user, "tab_panels").value == "Triggers")
    assert one(user, "trigger_search_input").value == "late"
    assert one(user, "trigger_table").filter == "late"

    await open_overview(user)
    click_row(user, "overview_queues_table", {"queue_name": "invoices"})
    await until(
        lambda: has(user, "queue_dialog_table") and len(table_rows(user, "queue_dialog_table")) == 5
    )
    assert one(user, "queue_dialog_status_select").value == "New"

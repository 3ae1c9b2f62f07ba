"""Logs and Jobs tabs: server-side paging, filters, the log popup (text, never HTML) and
a job's logs."""

import asyncio
from datetime import datetime, timedelta

from nicegui import ui
from nicegui.testing.user import User

from openorch.database import JobStatus, LogLevel
from openorch.store import Store
from support.ui import click_row, has, one, set_value, show_tab, table_rows, until


def seed_logs(db: Store) -> str:
    job = db.start_job("invoices", "robot-1")
    for index in range(120):
        db.create_log("invoices", LogLevel.INFO if index % 3 else LogLevel.ERROR, job.id,
                      f"line {index}")
    db.create_log("reports", LogLevel.TRACE, None,
                  "<b>bold?</b><script>alert(1)</script>" + "x" * 200)
    return str(job.id)


async def test_logs_page_on_the_server_and_filter(connected: User, db: Store) -> None:
    user = connected
    seed_logs(db)
    await show_tab(user, "Logs")
    await until(lambda: len(table_rows(user, "logs_table")) == 50)
    table = one(user, "logs_table")
    assert table.pagination["rowsNumber"] == 121
    newest = table_rows(user, "logs_table")[0]
    assert newest["process_name"] == "reports"
    assert newest["log_message"].endswith("...") and len(newest["log_message"]) == 103
    assert set(one(user, "logs_process_select").options) == {"All", "invoices", "reports"}

    # Page 3 of 50 holds the last 21 rows; the server was asked, not the browser.
    user.find(marker="logs_table").trigger(
        "request", {"pagination": {"page": 3, "rowsPerPage": 50, "sortBy": "log_time",
                                   "descending": True}})
    await until(lambda: len(table_rows(user, "logs_table")) == 21)
    assert table_rows(user, "logs_table")[-1]["log_message"] == "line 0"

    # Filters go back to page 1.
    set_value(user, "logs_level_select", "Error")
    await until(lambda: one(user, "logs_table").pagination["rowsNumber"] == 40)
    assert one(user, "logs_table").pagination["page"] == 1
    assert {row["log_level"] for row in table_rows(user, "logs_table")} == {"Error"}
    with user.client:  # type: ignore[union-attr]
        one(user, "logs_level_select").value = "All"
        one(user, "logs_process_select").value = "reports"
    await until(lambda: one(user, "logs_table").pagination["rowsNumber"] == 1)

    # From/To dates: nothing in the future.
    with user.client:  # type: ignore[union-attr]
        one(user, "logs_process_select").value = "All"
    tomorrow = datetime.now() + timedelta(days=1)
    set_value(user, "logs_from_date", tomorrow.strftime("%d-%m-%Y"))
    await until(lambda: one(user, "logs_table").pagination["rowsNumber"] == 0)
    set_value(user, "logs_from_date", "")
    set_value(user, "logs_to_date", tomorrow.strftime("%d-%m-%Y"))
    await until(lambda: one(user, "logs_table").pagination["rowsNumber"] == 121)
    set_value(user, "logs_to_date", "31-02-2024")
    await user.should_see("is not a date in the form dd-mm-yyyy")


async def test_log_popup_shows_the_message_as_text(connected: User, db: Store) -> None:
    user = connected
    seed_logs(db)
    await show_tab(user, "Logs")
    await until(lambda: table_rows(user, "logs_table"))
    row = table_rows(user, "logs_table")[0]
    click_row(user, "logs_table", row)
    await until(lambda: has(user, "log_popup_message"))
    message = one(user, "log_popup_message")
    assert isinstance(message, ui.label) and not isinstance(message, ui.html)
    assert message.text.startswith("<b>bold?</b><script>alert(1)</script>")
    assert one(user, "log_popup_level").text == "Trace"
    user.find(marker="log_popup_close_button").click()
    await until(lambda: not has(user, "log_popup_message"))


async def test_jobs_filter_and_open_a_jobs_logs(connected: User, db: Store) -> None:
    user = connected
    job_id = seed_logs(db)
    other = db.start_job("reports", "robot-2")
    db.end_job(other.id, JobStatus.FAILED)
    await show_tab(user, "Jobs")
    await until(lambda: len(table_rows(user, "jobs_table")) == 2)
    rows = table_rows(user, "jobs_table")
    assert rows[0]["process_name"] == "reports" and rows[0]["status"] == "Failed"
    assert rows[0]["status_color"] == "negative" and rows[0]["end_time"]
    assert set(one(user, "jobs_process_select").options) == {"All", "invoices", "reports"}

    with user.client:  # type: ignore[union-attr]
        one(user, "jobs_status_select").value = "Running"
    await until(lambda: [row["id"] for row in table_rows(user, "jobs_table")] == [job_id])
    with user.client:  # type: ignore[union-attr]
        one(user, "jobs_status_select").value = "All"
        one(user, "jobs_process_select").value = "reports"
    await until(lambda: [row["process_name"] for row in table_rows(user, "jobs_table")]
                == ["reports"])
    with user.client:  # type: ignore[union-attr]
        one(user, "jobs_process_select").value = "All"
    await until(lambda: len(table_rows(user, "jobs_table")) == 2)

    # Sorting is the server's: by process name ascending puts "invoices" first.
    user.find(marker="jobs_table").trigger(
        "request", {"pagination": {"page": 1, "rowsPerPage": 50, "sortBy": "process_name",
                                   "descending": False}})
    await until(lambda: [row["process_name"] for row in table_rows(user, "jobs_table")]
                == ["invoices", "reports"])

    job_row = next(row for row in table_rows(user, "jobs_table") if row["id"] == job_id)
    click_row(user, "jobs_table", job_row)
    await until(lambda: has(user, "job_logs_table") and table_rows(user, "job_logs_table"))
    assert one(user, "job_logs_table").pagination["rowsNumber"] == 120
    assert {row["job_id"] for row in table_rows(user, "job_logs_table")} == {job_id[:8]}
    user.find(marker="job_logs_popup_close_button").click()
    await asyncio.sleep(0.05)
    assert not has(user, "job_logs_table")

"""Logs and Jobs tabs: server-side paging, filters, the log popup (text, never HTML) and
a job's logs."""

import asyncio
from datetime import datetime, timedelta

from nicegui import ui
from nicegui.testing.user import User

from openorch.database import JobStatus, LogLevel
from openorch.orchestrator.widgets import MAX_ROWS_PER_PAGE
from openorch.store import Store
from support.ui import click_row, has, one, set_value, show_tab, table_rows, until


def seed_logs(db: Store) -> str:
    job = db.start_job("invoices", "robot-1")
    for index in range(120):
        db.create_log(
            "invoices", LogLevel.INFO if index % 3 else LogLevel.ERROR, job.id, f"line {index}"
        )
    db.create_log(
        "reports", LogLevel.TRACE, None, "<b>bold?</b><script>alert(1)</script>" + "x" * 200
    )
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
        "request",
        {"pagination": {"page": 3, "rowsPerPage": 50, "sortBy": "log_time", "descending": True}},
    )
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


async def test_the_server_caps_the_page_size_a_browser_asks_for(connected: User, db: Store) -> None:
    user = connected
    job = db.start_job("bulk", "robot-1")
    for index in range(260):
        db.create_log("bulk", LogLevel.INFO, job.id, f"row {index}")
    await show_tab(user, "Logs")
    await until(lambda: table_rows(user, "logs_table"))
    # A hand-made request event may name any page size (0 is Quasar's "all rows").
    for asked, served in (
        (1_000_000, MAX_ROWS_PER_PAGE),
        ("all", 50),
        (10**12, 200),
        (-5, 50),
        (300, 200),
        (0, 50),
    ):
        user.find(marker="logs_table").trigger(
            "request",
            {
                "pagination": {
                    "page": 1,
                    "rowsPerPage": asked,
                    "sortBy": "log_time",
                    "descending": True,
                }
            },
        )
        await until(
            lambda served=served: (  # type: ignore[misc]
                one(user, "logs_table").pagination["rowsPerPage"] == served
                and len(table_rows(user, "logs_table")) == served
            )
        )
    assert one(user, "logs_table").pagination["rowsNumber"] == 260


async def test_secrets_in_log_messages_are_masked_in_the_logs_tab(
    connected: User, db: Store
) -> None:
    user = connected
    secret = "hunter2-in-a-log"
    for message in (
        f"cloning https://robot:{secret}@git.example/rpa.git failed",
        f"connecting to postgresql+psycopg://robot@db/rpa?password={secret}",
        f"mssql+pyodbc:///?odbc_connect=DRIVER%3D%7Bx%7D%3BPWD%3D{secret}%3B",
        f"DRIVER={{x}};UID=robot;PWD={secret};",
    ):
        db.create_log("masking", LogLevel.ERROR, None, message)
    await show_tab(user, "Logs")
    await until(lambda: len(table_rows(user, "logs_table")) == 4)
    for row in table_rows(user, "logs_table"):
        assert secret not in row["log_message_full"] and "***" in row["log_message_full"]
        click_row(user, "logs_table", row)
        await until(lambda: has(user, "log_popup_message"))
        assert secret not in one(user, "log_popup_message").text
        user.find(marker="log_popup_close_button").click()
        await until(lambda: not has(user, "log_popup_message"))


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
    await until(
        lambda: [row["process_name"] for row in table_rows(user, "jobs_table")] == ["reports"]
    )
    with user.client:  # type: ignore[union-attr]
        one(user, "jobs_process_select").value = "All"
    await until(lambda: len(table_rows(user, "jobs_table")) == 2)

    # Sorting is the server's: by process name ascending puts "invoices" first.
    user.find(marker="jobs_table").trigger(
        "request",
        {
            "pagination": {
                "page": 1,
                "rowsPerPage": 50,
                "sortBy": "process_name",
                "descending": False,
            }
        },
    )
    await until(
        lambda: (
            [row["process_name"] for row in table_rows(user, "jobs_table")]
            == ["invoices", "reports"]
        )
    )

    job_row = next(row for row in table_rows(user, "jobs_table") if row["id"] == job_id)
    click_row(user, "jobs_table", job_row)
    await until(lambda: has(user, "job_logs_table") and table_rows(user, "job_logs_table"))
    assert one(user, "job_logs_table").pagination["rowsNumber"] == 120
    assert {row["job_id"] for row in table_rows(user, "job_logs_table")} == {"…" + job_id[-8:]}
    user.find(marker="job_logs_popup_close_button").click()
    await asyncio.sleep(0.05)
    assert not has(user, "job_logs_table")

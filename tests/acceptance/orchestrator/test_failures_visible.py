"""Why did it fail? (issue 25) A failed job's row says why without a click, a filter
finds jobs by it, the Logs list shows a crash's exception line first, and a failed job
leads in one click to every process's logs around its time."""

from datetime import datetime, timedelta

from nicegui.testing.user import User
from sqlalchemy import update

from openorch.database import JobOutcome, Log, LogLevel
from openorch.store import Store
from openorch.store.runs.failures import exit_message
from support.ui import click_row, has, one, set_value, show_tab, table_rows, until

TRACEBACK = """Traceback (most recent call last):
  File "/robots/invoices.py", line 12, in <module>
    main()
  File "/robots/invoices.py", line 9, in main
    print(1 / 0)
          ~~^~~
ZeroDivisionError: division by zero
"""


def seed(db: Store) -> dict[str, str]:
    """A crash (exit 1, traceback), a reported failure, a run with no error output, a
    Scheduler's death, and a success; returns their ids by name."""
    ids = {}
    crash = db.start_job("invoices", "robot-1")
    db.end_job_after_exit(crash.id, 1, exit_message(1, TRACEBACK))
    ids["crash"] = str(crash.id)
    reported = db.start_job("payroll", "robot-1")
    db.report_job_outcome(reported.id, JobOutcome.FAILED, "Invoice 42 was rejected by SAP")
    db.end_job_after_exit(reported.id, 0)
    ids["reported"] = str(reported.id)
    silent = db.start_job("silent", "robot-2")
    db.end_job_after_exit(silent.id, 3, exit_message(3, ""))
    ids["silent"] = str(silent.id)
    done = db.start_job("invoices", "robot-2")
    db.end_job_after_exit(done.id, 0)
    ids["done"] = str(done.id)
    return ids


async def test_a_failed_jobs_row_says_why(connected: User, db: Store) -> None:
    user = connected
    ids = seed(db)
    await show_tab(user, "Jobs")
    await until(lambda: len(table_rows(user, "jobs_table")) == 4)
    reasons = {row["id"]: row["reason"] for row in table_rows(user, "jobs_table")}
    assert reasons[ids["crash"]] == "ZeroDivisionError: division by zero · exit 1"
    assert reasons[ids["reported"]] == "Invoice 42 was rejected by SAP"
    assert reasons[ids["silent"]] == "exit 3, no error output"
    assert reasons[ids["done"]] == ""
    assert any(column["name"] == "reason" for column in one(user, "jobs_table").columns)


async def test_the_failure_filter_finds_jobs_by_their_reason(connected: User, db: Store) -> None:
    user = connected
    ids = seed(db)
    await show_tab(user, "Jobs")
    await until(lambda: len(table_rows(user, "jobs_table")) == 4)
    set_value(user, "jobs_failure_input", "zerodivision")
    await until(lambda: [row["id"] for row in table_rows(user, "jobs_table")] == [ids["crash"]])
    set_value(user, "jobs_failure_input", "rejected by")
    await until(lambda: [row["id"] for row in table_rows(user, "jobs_table")] == [ids["reported"]])
    set_value(user, "jobs_failure_input", "50%_off")  # % and _ are plain characters
    await until(lambda: table_rows(user, "jobs_table") == [])
    set_value(user, "jobs_failure_input", "")
    await until(lambda: len(table_rows(user, "jobs_table")) == 4)


async def test_the_logs_list_shows_a_crashs_exception_first(connected: User, db: Store) -> None:
    user = connected
    seed(db)
    db.create_log("reports", LogLevel.ERROR, None, "Could not read the file: " + TRACEBACK)
    await show_tab(user, "Logs")
    await until(lambda: len(table_rows(user, "logs_table")) >= 3)
    messages = {row["log_message"]: row for row in table_rows(user, "logs_table")}
    crash = "ZeroDivisionError: division by zero · exit 1 · traceback below"
    assert crash in messages
    assert messages[crash]["log_message_full"].startswith("The process exited with code 1.")
    assert "ZeroDivisionError: division by zero" in messages[crash]["log_message_full"]
    assert (
        "Could not read the file: ZeroDivisionError: division by zero · traceback below" in messages
    )
    assert "exit 3, no error output" in messages


async def test_logs_around_a_failed_jobs_time(connected: User, db: Store) -> None:
    user = connected
    ids = seed(db)
    db.create_log("mailer", LogLevel.ERROR, None, "SMTP server slow")  # another process
    old = db.create_log("mailer", LogLevel.INFO, None, "yesterday's news")
    with db.engine.begin() as connection:
        connection.execute(
            update(Log).where(Log.id == old.id).values(log_time=datetime.now() - timedelta(days=1))
        )
    await show_tab(user, "Jobs")
    await until(lambda: len(table_rows(user, "jobs_table")) == 4)
    row = next(row for row in table_rows(user, "jobs_table") if row["id"] == ids["crash"])
    click_row(user, "jobs_table", row)
    await until(lambda: has(user, "job_logs_around_button"))
    assert one(user, "job_reason").text == "ZeroDivisionError: division by zero · exit 1"
    user.find(marker="job_logs_around_button").click()
    await until(lambda: one(user, "tab_panels").value == "Logs")
    await until(lambda: any(r["process_name"] == "mailer" for r in table_rows(user, "logs_table")))
    shown = {r["log_message"] for r in table_rows(user, "logs_table")}
    assert "SMTP server slow" in shown  # every process, not only the job's
    assert "yesterday's news" not in shown
    assert one(user, "logs_from_date").value and one(user, "logs_to_date").value

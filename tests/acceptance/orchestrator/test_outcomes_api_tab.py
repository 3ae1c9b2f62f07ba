"""Jobs tab (outcome, data pretty-printed as text, duration, correlation id, filter by
outcome) and the API tab (tokens shown once, revoked; the API's writes listed)."""

from datetime import datetime, timedelta

from nicegui import ui
from nicegui.testing.user import User

from openorch.database import JobOutcome, JobStatus
from openorch.store import Store
from support.ui import click_and_wait, click_row, has, one, show_tab, table_rows, until


async def test_jobs_show_outcomes_and_filter_by_them(connected: User, db: Store) -> None:
    user = connected
    reported = db.start_job("invoices", "robot-1")
    db.report_job_outcome(
        reported.id,
        JobOutcome.FAILED,
        "customer <b>17</b> unknown",
        {"customer": 17, "html": "<script>x</script>"},
    )
    db.end_job_after_exit(reported.id, 0)
    silent = db.start_job("reports", "robot-2")
    db.end_job(silent.id, JobStatus.DONE)
    await show_tab(user, "Jobs")
    await until(lambda: len(table_rows(user, "jobs_table")) == 2)
    row = next(r for r in table_rows(user, "jobs_table") if r["id"] == str(reported.id))
    assert row["status"] == "Failed" and row["outcome"] == "Failed"
    assert row["outcome_message"] == "customer <b>17</b> unknown"
    assert row["duration"].startswith("0:00:")

    with user.client:  # type: ignore[union-attr]
        one(user, "jobs_outcome_select").value = "Failed"
    await until(lambda: [r["id"] for r in table_rows(user, "jobs_table")] == [str(reported.id)])
    with user.client:  # type: ignore[union-attr]
        one(user, "jobs_outcome_select").value = "None reported"
    await until(lambda: [r["id"] for r in table_rows(user, "jobs_table")] == [str(silent.id)])
    with user.client:  # type: ignore[union-attr]
        one(user, "jobs_outcome_select").value = "All"
    await until(lambda: len(table_rows(user, "jobs_table")) == 2)

    click_row(user, "jobs_table", row)
    await until(lambda: has(user, "job_outcome_data"))
    data = one(user, "job_outcome_data")
    assert isinstance(data, ui.label) and not isinstance(data, ui.html)
    assert '"customer": 17' in data.text and "\n" in data.text  # pretty-printed
    # Dark text on its light grey box in dark mode too (it was white on light grey).
    assert {"bg-grey-2", "text-black"} <= set(data.classes)
    assert one(user, "job_outcome_message").text == "customer <b>17</b> unknown"
    assert one(user, "job_outcome").text.startswith("Failed at ")
    assert one(user, "job_correlation_id").text == "none"
    assert one(user, "job_duration").text.startswith("0:00:")


async def test_tokens_are_shown_once_revoked_and_writes_listed(connected: User, db: Store) -> None:
    user = connected
    await show_tab(user, "API")
    await click_and_wait(user, "api_token_new_button", "api_token_create_button")
    user.find(marker="api_token_name_input").type("crm")
    user.find(marker="api_token_scope_run").click()
    tomorrow = datetime.now() + timedelta(days=1)
    with user.client:  # type: ignore[union-attr]
        one(user, "api_token_expires_date").value = tomorrow.strftime("%d-%m-%Y")
        one(user, "api_token_expires_time").value = "12:00"
    user.find(marker="api_token_create_button").click()
    await until(lambda: has(user, "api_token_secret"))
    secret = one(user, "api_token_secret").value
    token = db.authenticate_api_token(secret)
    assert token is not None and token.name == "crm" and token.scopes == "READ,RUN"
    assert token.expires_at == tomorrow.replace(hour=12, minute=0, second=0, microsecond=0)
    user.find(marker="api_token_done_button").click()
    await until(lambda: not has(user, "api_token_secret"))
    # The list refreshes after the dialog closes; a loaded machine shows the row later.
    await until(lambda: table_rows(user, "api_tokens_table"))
    (row,) = table_rows(user, "api_tokens_table")
    assert row["state"] == "Active" and row["scopes"] == "Read, Run"
    assert secret not in str(row) and token.token_hash not in str(row)

    # A second token with the same name is refused with a message.
    await click_and_wait(user, "api_token_new_button", "api_token_create_button")
    user.find(marker="api_token_name_input").type("crm")
    user.find(marker="api_token_create_button").click()
    await user.should_see("A token named 'crm' already exists.")
    user.find(marker="api_token_cancel_button").click()
    await until(lambda: not has(user, "api_token_create_button"))

    trigger_id = db.create_single_trigger("t", "p", tomorrow, "x.py", None, False, False)
    db.request_run(trigger_id, "crm", None, "case-7")
    user.find(marker="refresh_button").click()
    await until(lambda: table_rows(user, "api_audit_table"))
    (entry,) = table_rows(user, "api_audit_table")
    assert entry["token_name"] == "crm" and "case-7" in entry["detail"]

    click_row(user, "api_tokens_table", row)
    await until(lambda: has(user, "question_popup_yes_button"))
    user.find(marker="question_popup_yes_button").click()
    await until(lambda: table_rows(user, "api_tokens_table")[0]["state"].startswith("Revoked"))
    assert db.authenticate_api_token(secret) is None


async def test_a_metrics_only_token_for_prometheus(connected: User, db: Store) -> None:
    """The METRICS scope (issue 29) is offered in the dialog and shown in the table."""
    user = connected
    await show_tab(user, "API")
    await click_and_wait(user, "api_token_new_button", "api_token_create_button")
    user.find(marker="api_token_name_input").type("prometheus")
    user.find(marker="api_token_scope_read").click()  # READ is ticked by default
    user.find(marker="api_token_scope_metrics").click()
    user.find(marker="api_token_create_button").click()
    await until(lambda: has(user, "api_token_secret"))
    token = db.authenticate_api_token(one(user, "api_token_secret").value)
    assert token is not None and token.scopes == "METRICS"
    user.find(marker="api_token_done_button").click()
    await until(lambda: not has(user, "api_token_secret"))
    await until(lambda: len(table_rows(user, "api_tokens_table")) == 1)  # refreshed after
    (row,) = table_rows(user, "api_tokens_table")
    assert row["scopes"] == "Metrics"

"""The Orchestrator's side of bound queue elements: the Queues tab's oldest-NEW age and
past-deadline count, queue settings, the dialog's "overdue" and "in progress longer
than" filters, bulk actions that ask first and say how many, and the element popup's
job link, attempts, deadline, not-before and the release of an unbound element."""

from datetime import datetime, timedelta

from nicegui.testing.user import User

from openorch.database import JobStatus, QueueStatus
from openorch.store import Store
from support.ui import click_and_wait, click_row, has, one, set_value, show_tab, table_rows, until


def seed(db: Store) -> dict[str, object]:
    db.set_queue_settings("orders", max_attempts=3, description="web shop orders")
    db.bulk_create_queue_elements("orders", [f"o-{n}" for n in range(5)], [None] * 5)
    late = db.create_queue_element("orders", "late", deadline=datetime.now() - timedelta(hours=1))
    job = db.start_job("order robot", "machine-1")
    bound = db.get_next_queue_element("orders", job_id=job.id)
    unbound = db.get_next_queue_element("orders")  # as the original claims
    assert bound and unbound
    db.update_queue_element(unbound.id, start_date=datetime.now() - timedelta(hours=5))
    deferred = db.create_queue_element(
        "orders", "later", not_before=datetime.now() + timedelta(days=1)
    )
    return {"late": late, "job": job, "bound": bound, "unbound": unbound, "deferred": deferred}


async def open_orders(user: User) -> None:
    await show_tab(user, "Queues")
    await until(lambda: table_rows(user, "queues_table"))
    row = next(r for r in table_rows(user, "queues_table") if r["queue_name"] == "orders")
    click_row(user, "queues_table", row)
    await until(lambda: has(user, "queue_dialog_table") and table_rows(user, "queue_dialog_table"))


async def test_queue_list_shows_age_of_oldest_new_and_past_deadline(
    connected: User, db: Store
) -> None:
    user = connected
    seed(db)
    await show_tab(user, "Queues")
    await until(lambda: table_rows(user, "queues_table"))
    (row,) = table_rows(user, "queues_table")
    assert row["new"] == 5 and row["in_progress"] == 2
    assert row["past_deadline"] == 1
    assert row["oldest_new"].endswith(" s") or row["oldest_new"].endswith("min")
    assert row["description"] == "web shop orders"


async def test_queue_settings_are_edited_and_checked(connected: User, db: Store) -> None:
    user = connected
    seed(db)
    await open_orders(user)
    await click_and_wait(user, "queue_dialog_settings_button", "queue_settings_popup_save_button")
    await until(lambda: one(user, "queue_settings_popup_attempts_input").value == 3)
    set_value(user, "queue_settings_popup_delay_input", 90)
    set_value(user, "queue_settings_popup_deadline_input", 30)
    user.find(marker="queue_settings_popup_unique_switch").click()
    user.find(marker="queue_settings_popup_save_button").click()
    await until(lambda: db.get_queue_settings("orders").retry_delay_seconds == 90)
    settings = db.get_queue_settings("orders")
    assert settings.unique_references and settings.default_deadline_seconds == 1800
    assert settings.max_attempts == 3 and settings.description == "web shop orders"

    # A bad value is refused with a message, and nothing changes.
    await click_and_wait(user, "queue_dialog_settings_button", "queue_settings_popup_save_button")
    await until(lambda: one(user, "queue_settings_popup_delay_input").value == 90)
    set_value(user, "queue_settings_popup_attempts_input", 0)
    user.find(marker="queue_settings_popup_save_button").click()
    await user.should_see("max_attempts must be at least 1")
    assert db.get_queue_settings("orders").max_attempts == 3


async def test_filters_and_bulk_actions_ask_and_count(connected: User, db: Store) -> None:
    user = connected
    seeded = seed(db)
    await open_orders(user)
    table = one(user, "queue_dialog_table")
    assert table.pagination["rowsNumber"] == 7
    user.find(marker="queue_dialog_overdue_switch").click()
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 1)
    assert table_rows(user, "queue_dialog_table")[0]["reference"] == "late"
    user.find(marker="queue_dialog_overdue_switch").click()
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 7)
    set_value(user, "queue_dialog_longer_select", "4 hours")
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 1)
    (row,) = table_rows(user, "queue_dialog_table")
    assert row["id"] == str(seeded["unbound"].id)  # type: ignore[attr-defined]
    assert row["in_progress_for"].startswith("5 h")

    # Abandon the filtered one: asked first, with the count; "Cancel" changes nothing.
    user.find(marker="queue_dialog_abandon_button").click()
    await user.should_see("Abandon 1 element of queue 'orders'?")
    user.find(marker="question_popup_no_button").click()
    await until(lambda: not has(user, "question_popup"))
    assert db.get_queue_element(row["id"]).status is QueueStatus.IN_PROGRESS
    user.find(marker="queue_dialog_abandon_button").click()
    await user.should_see("Abandon 1 element of queue 'orders'?")
    user.find(marker="question_popup_yes_button").click()
    await user.should_see("1 element abandoned.")
    assert db.get_queue_element(row["id"]).status is QueueStatus.ABANDONED

    # Retry everything not NEW or DONE in view: the abandoned and the bound IN_PROGRESS one.
    set_value(user, "queue_dialog_longer_select", "Any time")
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 7)
    user.find(marker="queue_dialog_retry_button").click()
    await user.should_see("Set back to NEW 2 elements of queue 'orders'?")
    user.find(marker="question_popup_yes_button").click()
    await user.should_see("2 elements set back to NEW.")
    assert db.get_queue_count()["orders"][QueueStatus.NEW] == 7

    user.find(marker="queue_dialog_search_input").type("o-")
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 5)
    user.find(marker="queue_dialog_delete_button").click()
    await user.should_see("Delete 5 elements of queue 'orders'?")
    user.find(marker="question_popup_yes_button").click()
    await user.should_see("5 elements deleted.")
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 0)
    assert len(db.get_queue_elements("orders")) == 2


async def test_element_popup_shows_binding_and_releases_unbound(connected: User, db: Store) -> None:
    user = connected
    seeded = seed(db)
    bound, unbound, job = seeded["bound"], seeded["unbound"], seeded["job"]
    await open_orders(user)
    rows = {r["id"]: r for r in table_rows(user, "queue_dialog_table")}

    click_row(user, "queue_dialog_table", rows[str(bound.id)])  # type: ignore[attr-defined]
    await until(lambda: has(user, "queue_element_popup_job_link"))
    link = one(user, "queue_element_popup_job_link")
    assert link.text == str(job.id)  # type: ignore[attr-defined]
    # In its first attempt (issue 25: attempts made, not only those that ended unfinished).
    assert one(user, "queue_element_popup_attempts").text == "1"
    assert not has(user, "queue_element_popup_release_button")  # its job will release it
    link_click = user.find(marker="queue_element_popup_job_link")
    link_click.click()
    await user.should_see(f"Job {job.id}")  # type: ignore[attr-defined]
    assert has(user, "job_logs_table")
    user.find(marker="job_logs_popup_close_button").click()
    user.find(marker="queue_element_popup_close_button").click()
    await until(lambda: not has(user, "queue_element_popup"))

    click_row(user, "queue_dialog_table", rows[str(unbound.id)])  # type: ignore[attr-defined]
    await until(lambda: has(user, "queue_element_popup_release_button"))
    assert one(user, "queue_element_popup_job_link").text == "none recorded"
    assert one(user, "queue_element_popup_in_progress_for").text.startswith("5 h")
    user.find(marker="queue_element_popup_release_button").click()
    await user.should_see("Release queue element 'o-1'?")
    user.find(marker="question_popup_yes_button").click()
    await user.should_see("Queue element released: now NEW.")
    released = db.get_queue_element(unbound.id)  # type: ignore[attr-defined]
    assert released.status is QueueStatus.NEW and released.attempts == 1
    assert "Released by an admin after 5 h" in (released.message or "")

    deferred = seeded["deferred"]
    rows = {r["id"]: r for r in table_rows(user, "queue_dialog_table")}
    click_row(user, "queue_dialog_table", rows[str(deferred.id)])  # type: ignore[attr-defined]
    await until(lambda: has(user, "queue_element_popup_not_before"))
    assert one(user, "queue_element_popup_not_before").text == deferred.not_before.strftime(  # type: ignore[attr-defined]
        "%d-%m-%Y %H:%M:%S"
    )
    db.end_job(job.id, JobStatus.DONE)  # type: ignore[attr-defined]

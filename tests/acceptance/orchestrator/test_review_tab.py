"""Review tab (issue 27): open items across queues with filters, the element's history,
assign to me, retry with edited data, decide many; the Overview's backlog; the element
dialog's timeline."""

from nicegui.testing.user import User

from openorch.database import QueueStatus
from openorch.identity import TOKEN_ADMIN
from openorch.store import ReviewFilter, Store
from support.ui import click_and_wait, click_row, has, one, set_value, show_tab, table_rows, until


def _business_failure(db: Store, queue: str, reference: str, data: str) -> str:
    element = db.create_queue_element(queue, reference, data)
    assert db.get_next_queue_element(queue) is not None
    db.set_queue_element_status(
        element.id, QueueStatus.FAILED, f"Unknown {reference}", kind="business"
    )
    return str(element.id)


async def test_review_tab_filters_assigns_and_decides(connected: User, db: Store) -> None:
    user = connected
    first = _business_failure(db, "invoices", "r1", '{"customer": 1}')
    _business_failure(db, "claims", "r2", '{"claim": 2}')

    await show_tab(user, "Overview")
    await until(lambda: one(user, "overview_review_open").text == "2 Open")

    await show_tab(user, "Review")
    await until(lambda: len(table_rows(user, "review_table")) == 2)
    set_value(user, "review_queue_input", "invoices")
    await until(lambda: [r["reference"] for r in table_rows(user, "review_table")] == ["r1"])
    assert one(user, "review_count_label").text == "1 open item."

    row = table_rows(user, "review_table")[0]
    click_row(user, "review_table", row)
    await until(lambda: has(user, "review_popup_assign_button"))
    events = [entry["event"] for entry in one(user, "review_popup_history").rows]
    assert events == ["Created", "Claimed", "Failed", "Sent to review"], events
    assert one(user, "review_popup_reason").text == "Unknown r1"
    user.find(marker="review_popup_assign_button").click()
    await until(lambda: db.get_review_item(row["id"]).item.assignee == TOKEN_ADMIN.label)
    await until(lambda: table_rows(user, "review_table")[0]["assignee"] == TOKEN_ADMIN.label)

    click_row(user, "review_table", table_rows(user, "review_table")[0])
    await until(lambda: has(user, "review_popup_retry_button"))
    set_value(user, "review_popup_data_input", '{"customer": 11}')
    user.find(marker="review_popup_retry_button").click()
    await until(lambda: db.get_queue_element(first).status is QueueStatus.NEW)
    element = db.get_queue_element(first)
    assert element.data == '{"customer": 11}' and element.attempts == 0
    decided = db.get_review_item(row["id"]).item
    assert (decided.decision, decided.decided_by) == ("retry", TOKEN_ADMIN.label)
    await until(lambda: table_rows(user, "review_table") == [])

    # A final decision without a comment is refused and changes nothing.
    set_value(user, "review_queue_input", "")
    await until(lambda: len(table_rows(user, "review_table")) == 1)
    click_row(user, "review_table", table_rows(user, "review_table")[0])
    await until(lambda: has(user, "review_popup_abandon_button"))
    user.find(marker="review_popup_abandon_button").click()
    await user.should_see("comment is required")
    assert db.count_review_items() == 1
    user.find(marker="review_popup_close_button").click()

    # Decide many: every item the filters match.
    await click_and_wait(user, "review_decide_all_button", "review_bulk_decide_button")
    set_value(user, "review_bulk_decision_select", "abandon")
    set_value(user, "review_bulk_comment_input", "duplicates of case 7")
    user.find(marker="review_bulk_decide_button").click()
    await until(lambda: db.count_review_items() == 0)
    [bulk] = db.list_review_items(ReviewFilter(state="decided", queue="claims"))
    assert (bulk.item.decision, bulk.item.comment) == ("abandon", "duplicates of case 7")
    assert bulk.element.status is QueueStatus.ABANDONED
    await until(lambda: table_rows(user, "review_table") == [])


async def test_element_dialog_shows_the_history(connected: User, db: Store) -> None:
    user = connected
    element = _business_failure(db, "invoices", "r9", "{}")
    await show_tab(user, "Queues")
    await until(lambda: [r["queue_name"] for r in table_rows(user, "queues_table")] == ["invoices"])
    click_row(user, "queues_table", table_rows(user, "queues_table")[0])
    await until(lambda: has(user, "queue_dialog_table"))
    await until(lambda: len(table_rows(user, "queue_dialog_table")) == 1)
    click_row(user, "queue_dialog_table", table_rows(user, "queue_dialog_table")[0])
    await until(lambda: has(user, "queue_element_popup_history"))
    events = [entry["event"] for entry in one(user, "queue_element_popup_history").rows]
    assert events == ["Created", "Claimed", "Failed", "Sent to review"], events
    # An admin's edit is recorded with the fields it changed.
    set_value(user, "queue_element_popup_reference_input", "r9-fixed")
    user.find(marker="queue_element_popup_save_button").click()
    await until(lambda: db.get_queue_element(element).reference == "r9-fixed")
    edited = [entry for entry in db.get_element_history(element) if entry.event == "edited"]
    assert [(entry.actor, entry.details["fields"]) for entry in edited] == [
        (TOKEN_ADMIN.label, ["reference"])
    ]

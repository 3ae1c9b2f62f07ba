"""Queues tab, the queue dialog (page, search, filter, dense, columns) and the element
popup (edit, delete, new)."""

import asyncio
import json
import threading
from datetime import datetime, timedelta

import pytest
from nicegui.testing.user import User

from openorch.database import QueueStatus
from openorch.store import Store
from support.ui import click_and_wait, click_row, has, one, set_value, show_tab, table_rows, until


def seed_queue(db: Store) -> None:
    references = [f"ref-{index:03d}" for index in range(130)]
    data = [
        json.dumps({"index": index, "city": "Aarhus" if index % 2 else "Odense"})
        for index in range(130)
    ]
    db.bulk_create_queue_elements("invoices", references, data, created_by="test")
    db.create_queue_element("other", "x")
    first = db.get_queue_elements("invoices", reference="ref-000")[0]
    db.set_queue_element_status(first.id, QueueStatus.FAILED, "boom: <b>not html</b>")


async def open_invoices(user: User) -> None:
    await show_tab(user, "Queues")
    await until(lambda: len(table_rows(user, "queues_table")) == 2)
    row = next(row for row in table_rows(user, "queues_table") if row["queue_name"] == "invoices")
    click_row(user, "queues_table", row)
    await until(lambda: has(user, "queue_dialog_table") and table_rows(user, "queue_dialog_table"))


async def test_queue_counts_and_paging(connected: User, db: Store) -> None:
    user = connected
    seed_queue(db)
    await show_tab(user, "Queues")
    await until(lambda: len(table_rows(user, "queues_table")) == 2)
    counts = {row["queue_name"]: row for row in table_rows(user, "queues_table")}
    assert counts["invoices"]["new"] == 129 and counts["invoices"]["failed"] == 1
    assert counts["other"]["new"] == 1 and counts["other"]["done"] == 0

    await open_invoices(user)
    table = one(user, "queue_dialog_table")
    assert table.pagination["rowsNumber"] == 130 and len(table.rows) == 50
    table_rows(user, "queue_dialog_table")
    user.find(marker="queue_dialog_table").trigger(
        "request",
        {"pagination": {"page": 3, "rowsPerPage": 50, "sortBy": "reference", "descending": False}},
    )
    await until(lambda: len(table_rows(user, "queue_dialog_table")) == 30)
    assert table_rows(user, "queue_dialog_table")[-1]["reference"] == "ref-129"
    user.find(marker="queue_dialog_table").trigger(
        "request",
        {"pagination": {"page": 1, "rowsPerPage": 25, "sortBy": "reference", "descending": True}},
    )
    await until(lambda: table_rows(user, "queue_dialog_table")[0]["reference"] == "ref-129")
    assert len(table_rows(user, "queue_dialog_table")) == 25


async def test_queue_search_filter_dense_and_columns(connected: User, db: Store) -> None:
    user = connected
    seed_queue(db)
    await open_invoices(user)
    user.find(marker="queue_dialog_search_input").type("ref-01")
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 10)
    user.find(marker="queue_dialog_search_input").clear().type("Aarhus")
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 65)
    user.find(marker="queue_dialog_search_input").clear().type("not html")
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 1)
    user.find(marker="queue_dialog_search_input").clear()
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 130)

    with user.client:  # type: ignore[union-attr]
        one(user, "queue_dialog_status_select").value = "Failed"
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 1)
    row = table_rows(user, "queue_dialog_table")[0]
    assert row["reference"] == "ref-000" and row["status_color"] == "negative"
    assert row["message"] == "boom: <b>not html</b>"
    with user.client:  # type: ignore[union-attr]
        one(user, "queue_dialog_status_select").value = "All"
    set_value(user, "queue_dialog_from_date", "01-01-2100")
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 0)
    set_value(user, "queue_dialog_from_date", "")
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 130)

    user.find(marker="queue_dialog_dense_switch").click()
    assert "dense" in one(user, "queue_dialog_table").props
    user.find(marker="queue_dialog_column_data").click()
    assert "data" not in one(user, "queue_dialog_table").props["visible-columns"]
    assert "reference" in one(user, "queue_dialog_table").props["visible-columns"]

    user.find(marker="queue_dialog_close_button").click()
    await until(lambda: not has(user, "queue_dialog_table"))


async def test_an_older_search_answer_never_overwrites_a_newer_one(
    connected: User, db: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Searches run in worker threads and can finish out of order: the answer for a term
    the admin already replaced must not land over the answer for the new one."""
    user = connected
    seed_queue(db)
    await open_invoices(user)
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    real = Store.get_queue_elements

    def slow_for_the_old_term(self: Store, *args: object, **kwargs: object) -> object:
        if kwargs.get("search_term") != "ref-01":
            return real(self, *args, **kwargs)  # type: ignore[arg-type]
        started.set()
        release.wait(10)
        try:
            return real(self, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            finished.set()

    monkeypatch.setattr(Store, "get_queue_elements", slow_for_the_old_term)
    user.find(marker="queue_dialog_search_input").type("ref-01")
    await until(started.is_set)
    user.find(marker="queue_dialog_search_input").clear().type("Aarhus")
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 65)
    release.set()
    await until(finished.is_set)
    await asyncio.sleep(0.5)  # time for the old answer to reach the page, were it shown
    assert one(user, "queue_dialog_table").pagination["rowsNumber"] == 65
    assert all("Aarhus" in row["data"] for row in table_rows(user, "queue_dialog_table"))


async def test_edit_delete_and_add_an_element(connected: User, db: Store) -> None:
    user = connected
    seed_queue(db)
    await open_invoices(user)
    user.find(marker="queue_dialog_search_input").type("ref-005")
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 1)
    row = table_rows(user, "queue_dialog_table")[0]
    click_row(user, "queue_dialog_table", row)
    await until(lambda: has(user, "queue_element_popup_save_button"))
    # JSON data is pretty-printed.
    assert one(user, "queue_element_popup_data_input").value == json.dumps(
        {"index": 5, "city": "Aarhus"}, indent=2
    )
    assert one(user, "queue_element_popup_reference_input").value == "ref-005"
    user.find(marker="queue_element_popup_message_input").type("checked by hand")
    with user.client:  # type: ignore[union-attr]
        one(user, "queue_element_popup_status_select").value = "Done"
    user.find(marker="queue_element_popup_save_button").click()
    await until(lambda: db.get_queue_element(row["id"]).status == QueueStatus.DONE)
    saved = db.get_queue_element(row["id"])
    assert saved.message == "checked by hand" and saved.end_date is not None
    assert saved.data == json.dumps({"index": 5, "city": "Aarhus"})  # not rewritten
    await until(lambda: table_rows(user, "queue_dialog_table")[0]["status"] == "Done")

    click_row(user, "queue_dialog_table", table_rows(user, "queue_dialog_table")[0])
    await until(lambda: has(user, "queue_element_popup_delete_button"))
    user.find(marker="queue_element_popup_delete_button").click()
    await user.should_see("Delete queue element 'ref-005'?")
    user.find(marker="question_popup_yes_button").click()
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 0)
    assert len(db.get_queue_elements("invoices", limit=1000)) == 129

    user.find(marker="queue_dialog_search_input").clear()
    await click_and_wait(user, "queue_dialog_new_button", "queue_element_popup_save_button")
    user.find(marker="queue_element_popup_reference_input").type("manual-1")
    user.find(marker="queue_element_popup_data_input").type('{"added": true}')
    user.find(marker="queue_element_popup_save_button").click()
    await until(lambda: db.get_queue_elements("invoices", reference="manual-1"))
    added = db.get_queue_elements("invoices", reference="manual-1")[0]
    assert added.status == QueueStatus.NEW and added.data == '{"added": true}'
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 130)

    # Closing the dialog refreshes the counts behind it.
    user.find(marker="queue_dialog_close_button").click()
    await until(
        lambda: (
            next(
                row for row in table_rows(user, "queues_table") if row["queue_name"] == "invoices"
            )["done"]
            == 0
            and sum(row["new"] for row in table_rows(user, "queues_table")) == 130
        )
    )


async def test_pipeline_elements_show_their_step_state_and_history_and_filter_by_step(
    connected: User, db: Store
) -> None:
    user = connected
    db.bulk_create_queue_elements("backups", ["b-1", "b-2", "plain"], [None] * 3)
    job = db.start_job("backup", "machine").id
    progress = {}
    for reference in ("b-1", "b-2"):
        element = db.get_next_queue_element("backups", reference=reference, job_id=job)
        assert element is not None
        progress[reference] = db.adopt_pipeline_element(element.id, job, "backup", "generate")
    first = progress["b-1"]
    db.finish_pipeline_part(
        first,
        db.begin_pipeline_part(first, "generate", "start"),
        {"file": "b-1.bak", "bytes": 42},
        "transfer",
    )
    db.wait_pipeline_part(
        first,
        db.begin_pipeline_part(first, "transfer", "start"),
        "transfer",
        {"file": "b-1.bak", "bytes": 42, "ticket": "T-7"},
        datetime.now() + timedelta(hours=1),
        datetime.now(),
    )
    await show_tab(user, "Queues")
    await until(lambda: table_rows(user, "queues_table"))
    click_row(user, "queues_table", table_rows(user, "queues_table")[0])
    await until(
        lambda: has(user, "queue_dialog_table") and len(table_rows(user, "queue_dialog_table")) == 3
    )

    # The step filter offers the steps elements stand at; choosing one filters the table.
    select = one(user, "queue_dialog_step_select")
    assert select.visible and select.options == ["All", "generate", "transfer"]
    with user.client:  # type: ignore[union-attr]
        select.value = "transfer"
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 1)
    row = table_rows(user, "queue_dialog_table")[0]
    assert row["reference"] == "b-1" and row["status"] == "New"

    click_row(user, "queue_dialog_table", row)
    await until(lambda: has(user, "queue_element_popup_pipeline"))
    assert one(user, "queue_element_popup_pipeline_name").text == "backup"
    assert one(user, "queue_element_popup_pipeline_step").text.startswith(
        "transfer (waiting to be continued since"
    )
    assert one(user, "queue_element_popup_pipeline_state").content == json.dumps(
        {"file": "b-1.bak", "bytes": 42, "ticket": "T-7"}, indent=2
    )
    history = one(user, "queue_element_popup_pipeline_history").rows
    assert [(line["step"], line["outcome"], line["job"]) for line in history] == [
        ("generate", "done", str(job)),
        ("transfer", "waiting", str(job)),
    ]
    assert all(line["started"] and line["finished"] for line in history)
    user.find(marker="queue_element_popup_close_button").click()

    # An element no pipeline ran has no pipeline section.
    with user.client:  # type: ignore[union-attr]
        select.value = "All"
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 3)
    plain = next(r for r in table_rows(user, "queue_dialog_table") if r["reference"] == "plain")
    click_row(user, "queue_dialog_table", plain)
    await until(lambda: has(user, "queue_element_popup_save_button"))
    assert not has(user, "queue_element_popup_pipeline")


async def test_a_deeply_nested_json_element_opens_saves_and_deletes(
    connected: User, db: Store
) -> None:
    user = connected
    deep = "[" * 999 + "]" * 999  # fits the 2000-character column; json.loads: RecursionError
    element = db.create_queue_element("deep", "deep-1", deep)
    await show_tab(user, "Queues")
    await until(lambda: table_rows(user, "queues_table"))
    click_row(user, "queues_table", table_rows(user, "queues_table")[0])
    await until(lambda: has(user, "queue_dialog_table") and table_rows(user, "queue_dialog_table"))
    click_row(user, "queue_dialog_table", table_rows(user, "queue_dialog_table")[0])
    await until(lambda: has(user, "queue_element_popup_save_button"))
    assert one(user, "queue_element_popup_data_input").value == deep  # shown as it is
    user.find(marker="queue_element_popup_message_input").type("looked at")
    user.find(marker="queue_element_popup_save_button").click()
    await until(lambda: db.get_queue_element(element.id).message == "looked at")
    assert db.get_queue_element(element.id).data == deep

    click_row(user, "queue_dialog_table", table_rows(user, "queue_dialog_table")[0])
    await until(lambda: has(user, "queue_element_popup_delete_button"))
    user.find(marker="queue_element_popup_delete_button").click()
    await user.should_see("Delete queue element 'deep-1'?")
    user.find(marker="question_popup_yes_button").click()
    await until(lambda: one(user, "queue_dialog_table").pagination["rowsNumber"] == 0)
    assert not db.get_queue_elements("deep")

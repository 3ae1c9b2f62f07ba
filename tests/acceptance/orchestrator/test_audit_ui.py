"""Who did what, through the page's real events: each kind of write leaves exactly one
audit row naming the signed-in person, no secret reaches a row, and the Audit tab
filters the trail and shows an entry's before and after."""

import json
from datetime import datetime, timedelta

from nicegui.testing.user import User

from openorch.database import AuditEntry, QueueStatus, TriggerStatus
from openorch.store import Store
from support.ui import click_and_wait, click_row, has, one, set_value, show_tab, table_rows, until

ACTOR = "admin (token)"
PASSWORD = "pw-that-must-never-show"


def _trail(db: Store) -> list[AuditEntry]:
    """The trail, oldest first."""
    return list(reversed(db.get_audit(limit=None)[0]))


async def _one_more(db: Store, count: int, action: str) -> AuditEntry:
    """Wait for exactly one new row, `action`, by the signed-in admin."""
    await until(lambda: len(_trail(db)) >= count + 1)
    trail = _trail(db)
    assert len(trail) == count + 1, [entry.action for entry in trail[count:]]
    entry = trail[-1]
    assert (entry.action, entry.actor, entry.actor_role) == (action, ACTOR, "admin")
    assert entry.source == "orchestrator" and entry.actor_method == "token"
    return entry


async def test_each_kind_of_write_through_the_page_leaves_one_row(
    connected: User, db: Store
) -> None:
    user = connected
    trigger_id = db.create_single_trigger(
        "invoices", "invoices", datetime.now() + timedelta(hours=1), "path", None, False, True
    )
    db.set_queue_settings("orders", max_attempts=2)
    element = db.create_queue_element("orders", "o-1", '{"n": 1}')
    db.create_queue_element("orders", "o-2")
    count = 0
    assert _trail(db) == []  # what the test seeds through its own store is not audited

    # A constant, created in its popup.
    await show_tab(user, "Constants")
    await click_and_wait(user, "constant_new_button", "constant_popup_save_button")
    user.find(marker="constant_popup_name_input").type("greeting")
    user.find(marker="constant_popup_value_input").type("hello")
    user.find(marker="constant_popup_save_button").click()
    entry = await _one_more(db, count, "constant.create")
    assert entry.object_name == "greeting" and json.loads(entry.after or "")["value"] == "hello"
    count += 1

    # A credential: its password never reaches the row.
    await click_and_wait(user, "credential_new_button", "credential_popup_save_button")
    user.find(marker="credential_popup_name_input").type("mail")
    user.find(marker="credential_popup_username_input").type("robot")
    user.find(marker="credential_popup_password_input").type(PASSWORD)
    user.find(marker="credential_popup_save_button").click()
    entry = await _one_more(db, count, "credential.create")
    assert PASSWORD not in f"{entry.before} {entry.after} {entry.summary}"
    assert json.loads(entry.after or "")["password"] == "***"
    count += 1

    # A trigger paused from its popup.
    await show_tab(user, "Triggers")
    await until(lambda: table_rows(user, "trigger_table"))
    click_row(user, "trigger_table", table_rows(user, "trigger_table")[0])
    await until(lambda: has(user, "trigger_popup_disable_button"))
    user.find(marker="trigger_popup_disable_button").click()
    await until(lambda: db.get_trigger(trigger_id).process_status == TriggerStatus.PAUSED)
    entry = await _one_more(db, count, "trigger.pause")
    assert entry.object_id == str(trigger_id) and entry.summary == "status IDLE -> PAUSED"
    count += 1

    # A queue element whose status and message change in one save: one row.
    await show_tab(user, "Queues")
    await until(lambda: table_rows(user, "queues_table"))
    click_row(user, "queues_table", table_rows(user, "queues_table")[0])
    await until(lambda: has(user, "queue_dialog_table") and table_rows(user, "queue_dialog_table"))
    row = next(r for r in table_rows(user, "queue_dialog_table") if r["id"] == str(element.id))
    click_row(user, "queue_dialog_table", row)
    await until(lambda: has(user, "queue_element_popup_save_button"))
    user.find(marker="queue_element_popup_message_input").type("checked by hand")
    set_value(user, "queue_element_popup_status_select", "Done")
    user.find(marker="queue_element_popup_save_button").click()
    await until(lambda: db.get_queue_element(element.id).status == QueueStatus.DONE)
    entry = await _one_more(db, count, "queue_element.update")
    assert json.loads(entry.before or "")["status"] == "NEW"
    assert json.loads(entry.after or "")["message"] == "checked by hand"
    count += 1

    # The queue's settings (the popup hands the data layer's method to a worker thread).
    await click_and_wait(user, "queue_dialog_settings_button", "queue_settings_popup_save_button")
    await until(lambda: one(user, "queue_settings_popup_attempts_input").value == 2)
    set_value(user, "queue_settings_popup_attempts_input", 4)
    user.find(marker="queue_settings_popup_save_button").click()
    entry = await _one_more(db, count, "queue.settings")
    assert json.loads(entry.before or "")["max_attempts"] == 2
    assert json.loads(entry.after or "")["max_attempts"] == 4
    count += 1

    # A bulk action over the queue: one row however many elements it changes.
    await until(lambda: has(user, "queue_dialog_abandon_button"))
    user.find(marker="queue_dialog_abandon_button").click()
    await until(lambda: has(user, "question_popup_yes_button"))
    user.find(marker="question_popup_yes_button").click()
    entry = await _one_more(db, count, "queue.bulk_abandon")
    assert entry.object_name == "orders" and json.loads(entry.after or "")["changed"] == 1
    count += 1
    user.find(marker="queue_dialog_close_button").click()

    # An API token: the secret shown once never reaches the row.
    await show_tab(user, "API")
    await click_and_wait(user, "api_token_new_button", "api_token_create_button")
    user.find(marker="api_token_name_input").type("crm")
    user.find(marker="api_token_create_button").click()
    await until(lambda: has(user, "api_token_secret"))
    secret = one(user, "api_token_secret").value
    entry = await _one_more(db, count, "api_token.create")
    assert secret not in f"{entry.before} {entry.after}" and "token_hash" not in (entry.after or "")
    user.find(marker="api_token_done_button").click()
    count += 1

    # A refused write (a duplicate constant) leaves nothing.
    await show_tab(user, "Constants")
    await click_and_wait(user, "constant_new_button", "constant_popup_save_button")
    user.find(marker="constant_popup_name_input").type("greeting")
    user.find(marker="constant_popup_value_input").type("other")
    user.find(marker="constant_popup_save_button").click()
    await user.should_see("A constant named 'greeting' already exists.")
    assert len(_trail(db)) == count
    user.find(marker="constant_popup_cancel_button").click()

    # Signing every browser out is recorded too (before this page is signed out).
    await show_tab(user, "Settings")
    await click_and_wait(user, "settings_sign_out_all_button", "question_popup_yes_button")
    user.find(marker="question_popup_yes_button").click()
    entry = await _one_more(db, count, "session.sign_out_all")
    assert entry.object_kind == "session"


async def test_the_audit_tab_filters_and_shows_before_and_after(connected: User, db: Store) -> None:
    user = connected
    for name in ("alpha", "beta"):
        db.record_audit(
            actor="anna (oidc)",
            actor_method="oidc",
            actor_role="operator",
            action="constant.update",
            object_kind="constant",
            object_id=name,
            object_name=name,
            summary=f"{name} changed",
            before={"value": "old"},
            after={"value": "new"},
        )
    db.record_audit(
        actor="api:crm",
        actor_method="api-token",
        actor_role=None,
        action="trigger.run",
        object_kind="trigger",
        object_id="t-1",
        object_name="invoices",
        source="api",
    )
    await show_tab(user, "Audit")
    await until(lambda: len(table_rows(user, "audit_table")) == 3)
    assert table_rows(user, "audit_table")[0]["actor"] == "api:crm"  # newest first

    await until(lambda: "anna (oidc)" in one(user, "audit_actor_select").options)
    set_value(user, "audit_actor_select", "anna (oidc)")
    await until(lambda: len(table_rows(user, "audit_table")) == 2)
    assert {row["object_name"] for row in table_rows(user, "audit_table")} == {"alpha", "beta"}
    user.find(marker="audit_search_input").type("beta")
    await until(lambda: len(table_rows(user, "audit_table")) == 1)
    assert one(user, "audit_table").pagination["rowsNumber"] == 1

    click_row(user, "audit_table", table_rows(user, "audit_table")[0])
    await until(lambda: has(user, "audit_popup"))
    assert json.loads(one(user, "audit_popup_before").text) == {"value": "old"}
    assert json.loads(one(user, "audit_popup_after").text) == {"value": "new"}
    assert one(user, "audit_popup_changed").text == "value"
    assert "signed in with oidc, operator" in one(user, "audit_popup_actor_detail").text
    user.find(marker="audit_popup_close_button").click()
    await until(lambda: not has(user, "audit_popup"))

    user.find(marker="audit_search_input").clear()
    set_value(user, "audit_actor_select", "All")
    set_value(user, "audit_source_select", "api")
    await until(
        lambda: [row["action"] for row in table_rows(user, "audit_table")] == ["trigger.run"]
    )

    # A time window (UTC) the rows are not in empties the table.
    set_value(user, "audit_source_select", "All")
    set_value(user, "audit_from_date", "01-01-2001")
    set_value(user, "audit_to_date", "02-01-2001")
    await until(lambda: table_rows(user, "audit_table") == [])

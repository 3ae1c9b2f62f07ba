"""Roles enforced on the server (issue 30): for each role, actions it may not do are
tried through the page's real events and refused with a clear note and nothing
written; the actions it may do still work."""

from datetime import datetime, timedelta

import pytest
from nicegui.testing.user import User

from openorch.database import QueueStatus, TriggerStatus
from openorch.identity import Identity
from openorch.orchestrator import who
from openorch.orchestrator.common import off_loop
from openorch.orchestrator.frame import PAGES
from openorch.store import Store
from support.ui import click_and_wait, click_row, has, one, show_tab, sign_in_as, table_rows, until

REFUSED = "Not allowed"


async def open_as(user: User, role: str) -> User:
    """The page of someone signed in with `role`, connected with the configured
    database (which every role may do)."""
    await sign_in_as(user, Identity(f"anna-{role}", "ldap", role))
    await user.open("/")
    user.find(marker="settings_connect_button").click()
    await user.should_see("Connected!", retries=30)
    return user


def seed(db: Store) -> tuple[str, str]:
    """A trigger and a queue element in progress (claimed by no job)."""
    soon = datetime.now() + timedelta(hours=1)
    trigger_id = str(db.create_single_trigger("t", "p", soon, "path", None, False, True))
    element = db.create_queue_element("invoices", "ref-1")
    db.set_queue_element_status(element.id, QueueStatus.IN_PROGRESS)
    db.create_constant("greeting", "hello")
    return trigger_id, str(element.id)


async def open_trigger(user: User) -> None:
    await show_tab(user, "Triggers")
    await until(lambda: table_rows(user, "trigger_table"))
    click_row(user, "trigger_table", table_rows(user, "trigger_table")[0])
    await until(lambda: has(user, "trigger_popup_save_button"))


async def open_element(user: User) -> None:
    await show_tab(user, "Queues")
    await until(lambda: table_rows(user, "queues_table"))
    click_row(user, "queues_table", table_rows(user, "queues_table")[0])
    await until(lambda: has(user, "queue_dialog_table") and table_rows(user, "queue_dialog_table"))
    click_row(user, "queue_dialog_table", table_rows(user, "queue_dialog_table")[0])
    await until(lambda: has(user, "queue_element_popup_save_button"))


async def confirm(user: User, button: str) -> None:
    """Click a button that asks first, and answer yes."""
    await click_and_wait(user, button, "question_popup_yes_button")
    user.find(marker="question_popup_yes_button").click()
    await until(lambda: not has(user, "question_popup_yes_button"))


async def refused(user: User) -> None:
    await user.should_see(REFUSED, retries=50)


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
async def test_viewer_and_reviewer_change_nothing(user: User, db: Store, role: str) -> None:
    trigger_id, element_id = seed(db)
    await open_as(user, role)
    page = PAGES[user.client]  # type: ignore[index]
    assert page.identity.role == role

    await open_trigger(user)
    user.find(marker="trigger_popup_disable_button").click()
    await refused(user)
    assert db.get_trigger(trigger_id).process_status == TriggerStatus.IDLE

    await open_element(user)
    await confirm(user, "queue_element_popup_release_button")
    await refused(user)
    assert db.get_queue_element(element_id).status == QueueStatus.IN_PROGRESS
    user.find(marker="queue_element_popup_close_button").click()

    # Adding an element: the button is there (the dialog is for reading too), the
    # server refuses the write.
    await click_and_wait(user, "queue_dialog_new_button", "queue_element_popup_save_button")
    user.find(marker="queue_element_popup_reference_input").type("sneaked-in")
    user.find(marker="queue_element_popup_save_button").click()
    await refused(user)
    assert not db.get_queue_elements("invoices", reference="sneaked-in")

    # Buttons of what only admins do are not even shown.
    for marker in ("constant_new_button", "credential_new_button", "api_token_new_button"):
        assert not one_visible(user, marker)


def one_visible(user: User, marker: str) -> bool:
    return has(user, marker)


async def test_operator_runs_and_fixes_but_sets_nothing_up(user: User, db: Store) -> None:
    trigger_id, element_id = seed(db)
    await open_as(user, "operator")

    # Allowed: pause and enable a trigger, release an element, add one.
    await open_trigger(user)
    user.find(marker="trigger_popup_disable_button").click()
    await until(lambda: db.get_trigger(trigger_id).process_status == TriggerStatus.PAUSED)
    await open_trigger(user)
    user.find(marker="trigger_popup_enable_button").click()
    await until(lambda: db.get_trigger(trigger_id).process_status == TriggerStatus.IDLE)

    # Refused: editing and deleting a trigger.
    await open_trigger(user)
    user.find(marker="trigger_popup_name_input").clear().type("renamed")
    user.find(marker="trigger_popup_save_button").click()
    await refused(user)
    assert db.get_trigger(trigger_id).trigger_name == "t"
    await confirm(user, "trigger_popup_delete_button")
    await until(lambda: sum(REFUSED in message for message in user.notify.messages) == 2)
    assert len(db.get_all_triggers()) == 1
    user.find(marker="trigger_popup_cancel_button").click()

    await open_element(user)
    await confirm(user, "queue_element_popup_delete_button")
    await refused(user)
    assert db.get_queue_element(element_id).status == QueueStatus.IN_PROGRESS
    await confirm(user, "queue_element_popup_release_button")
    await until(lambda: db.get_queue_element(element_id).status != QueueStatus.IN_PROGRESS)
    # The released element's popup closes after the write: wait, or "new" finds its Save.
    await until(lambda: not has(user, "queue_element_popup_save_button"))
    await click_and_wait(user, "queue_dialog_new_button", "queue_element_popup_save_button")
    user.find(marker="queue_element_popup_reference_input").type("added-by-operator")
    user.find(marker="queue_element_popup_save_button").click()
    await until(lambda: db.get_queue_elements("invoices", reference="added-by-operator"))
    user.find(marker="queue_dialog_close_button").click()

    # Refused: constants (the row opens the popup; saving is refused).
    await show_tab(user, "Constants")
    await until(lambda: table_rows(user, "constants_table"))
    click_row(user, "constants_table", table_rows(user, "constants_table")[0])
    await until(lambda: has(user, "constant_popup_save_button"))
    user.find(marker="constant_popup_value_input").clear().type("changed")
    user.find(marker="constant_popup_save_button").click()
    await refused(user)
    assert db.get_constant("greeting").value == "hello"
    assert not has(user, "settings_sign_out_all_button")
    assert not has(user, "settings_sign_in_edit_button")


async def test_only_an_admin_connects_the_page_elsewhere(user: User, tmp_path: object) -> None:
    await open_as(user, "operator")
    user.find(marker="settings_disconnect_button").click()
    await user.should_see("Disconnected.")
    user.find(marker="settings_conn_input").clear().type("sqlite:////tmp/elsewhere.db")
    user.find(marker="settings_connect_button").click()
    await refused(user)
    page = PAGES[user.client]  # type: ignore[index]
    assert not page.client_store.connected


async def test_the_identity_of_the_page_answers_in_its_handlers(user: User, db: Store) -> None:
    seed(db)
    await open_as(user, "operator")
    page = PAGES[user.client]  # type: ignore[index]
    with user.client:  # type: ignore[union-attr]
        assert who.current_identity() == Identity("anna-operator", "ldap", "operator")
        # Any blocking call a handler runs in a worker thread runs as the page's person.
        assert (await off_loop(who.current_identity)).name == "anna-operator"
    seen: list[Identity] = []
    original = db.get_constants

    # In the worker thread a data-layer call runs in, too.
    def spy() -> object:
        seen.append(who.current_identity())
        return original()

    page.client_store._store.get_constants = spy  # type: ignore[union-attr,method-assign]
    await show_tab(user, "Constants")
    await until(lambda: seen)
    assert seen[0].name == "anna-operator"
    assert one(user, "tab_panels").value == "Constants"


async def test_the_token_admin_sees_everything_and_how_people_sign_in(user: User) -> None:
    await user.open("/")
    assert one(user, "signed_in_as").text == "admin (token) · admin"
    assert "Only the token signs in" in one(user, "settings_sign_in_ways").text
    assert has(user, "settings_sign_out_all_button")

"""Triggers tab and popup: create, edit, enable, disable, kill and delete each kind."""

from datetime import datetime, timedelta

import pytest
from nicegui.testing.user import User

from openorch.database import ScheduledTrigger, TriggerStatus, TriggerType
from openorch.store import Store
from support.ui import click_and_wait, click_row, has, one, set_value, show_tab, table_rows, until


def fill_common(user: User, name: str) -> None:
    user.find(marker="trigger_popup_name_input").type(name)
    user.find(marker="trigger_popup_process_input").type("Process " + name)
    user.find(marker="trigger_popup_path_input").type("C:/robots/" + name + ".py")
    user.find(marker="trigger_popup_args_input").type('--flag "a b" ü')


async def saved(user: User, db: Store, count: int) -> None:
    user.find(marker="trigger_popup_save_button").click()
    await until(lambda: len(db.get_all_triggers()) == count)
    # The row is in the database before the handler ends (it records the audit row
    # next): wait for the popup to close, or the next click finds this one still open.
    await until(lambda: not has(user, "trigger_popup_save_button"))


async def test_create_one_trigger_of_each_kind(connected: User, db: Store) -> None:
    user = connected
    await show_tab(user, "Triggers")
    tomorrow = datetime.now() + timedelta(days=1)

    await click_and_wait(user, "trigger_new_single_button", "trigger_popup_save_button")
    fill_common(user, "single")
    set_value(user, "trigger_popup_time_date", tomorrow.strftime("%d-%m-%Y"))
    set_value(user, "trigger_popup_time_time", "07:30")
    user.find(marker="trigger_popup_priority_input").clear().type("5")
    one(user, "trigger_popup_whitelist_input").value = ["robot-1", "robot-2"]
    await saved(user, db, 1)

    await click_and_wait(user, "trigger_new_scheduled_button", "trigger_popup_save_button")
    fill_common(user, "scheduled")
    user.find(marker="trigger_popup_cron_input").type("0 7 * * 1-5")
    # A valid cron expression fills Trigger Time with its next run.
    assert one(user, "trigger_popup_time_date").value
    user.find(marker="trigger_popup_git_check").click()
    user.find(marker="trigger_popup_branch_input").type("release-1")
    await saved(user, db, 2)

    await click_and_wait(user, "trigger_new_queue_button", "trigger_popup_save_button")
    fill_common(user, "queue")
    user.find(marker="trigger_popup_queue_input").type("invoices")
    user.find(marker="trigger_popup_batch_input").clear().type("10")
    user.find(marker="trigger_popup_blocking_check").click()
    await saved(user, db, 3)

    triggers = {trigger.trigger_name: trigger for trigger in db.get_all_triggers()}
    single, scheduled, queue = triggers["single"], triggers["scheduled"], triggers["queue"]
    assert single.type == TriggerType.SINGLE
    assert single.next_run == tomorrow.replace(hour=7, minute=30, second=0, microsecond=0)
    assert single.priority == 5 and single.whitelist == ["robot-1", "robot-2"]
    assert single.process_args == '--flag "a b" ü' and single.is_blocking is True
    assert isinstance(scheduled, ScheduledTrigger) and scheduled.cron_expr == "0 7 * * 1-5"
    assert scheduled.is_git_repo and scheduled.git_branch == "release-1"
    assert queue.queue_name == "invoices" and queue.min_batch_size == 10
    assert queue.is_blocking is False

    await until(lambda: len(table_rows(user, "trigger_table")) == 3)
    rows = {row["trigger_name"]: row for row in table_rows(user, "trigger_table")}
    assert [row["trigger_name"] for row in table_rows(user, "trigger_table")] == [
        "queue",
        "scheduled",
        "single",
    ]
    assert rows["queue"]["next_run"] == "N/A"
    assert rows["single"]["last_run"] == "Never"
    assert rows["single"]["status"] == "Idle"
    assert rows["single"]["next_run"] == tomorrow.strftime("%d-%m-%Y") + " 07:30:00"


async def test_required_fields_and_bad_cron_are_refused(connected: User, db: Store) -> None:
    user = connected
    await show_tab(user, "Triggers")
    await click_and_wait(user, "trigger_new_scheduled_button", "trigger_popup_save_button")
    user.find(marker="trigger_popup_save_button").click()
    await user.should_see("Trigger Name must not be empty.")
    fill_common(user, "bad cron")
    user.find(marker="trigger_popup_cron_input").type("every monday")
    user.find(marker="trigger_popup_save_button").click()
    await user.should_see("Cron: 5 fields are needed")
    user.find(marker="trigger_popup_name_input").type("x" * 200)
    user.find(marker="trigger_popup_save_button").click()
    await user.should_see("Trigger Name is too long")
    assert db.get_all_triggers() == ()
    # The new-trigger popup is persistent: a click outside does not lose the form.
    assert "persistent" in one(user, "trigger_popup").props


async def test_past_time_asks_before_creating(connected: User, db: Store) -> None:
    user = connected
    await show_tab(user, "Triggers")
    await click_and_wait(user, "trigger_new_single_button", "trigger_popup_save_button")
    fill_common(user, "late")
    set_value(user, "trigger_popup_time_date", "01-01-2020")
    set_value(user, "trigger_popup_time_time", "10:00")
    user.find(marker="trigger_popup_save_button").click()
    await user.should_see("The selected time is in the past. Create the trigger anyway?")
    user.find(marker="question_popup_no_button").click()
    assert db.get_all_triggers() == ()
    user.find(marker="trigger_popup_save_button").click()
    await user.should_see("The selected time is in the past. Create the trigger anyway?")
    user.find(marker="question_popup_yes_button").click()
    await until(lambda: len(db.get_all_triggers()) == 1)
    await until(lambda: table_rows(user, "trigger_table"))
    row = table_rows(user, "trigger_table")[0]
    assert row["overdue"] is True


def seed(db: Store, kind: TriggerType) -> str:
    soon = datetime.now() + timedelta(hours=1)
    if kind == TriggerType.SINGLE:
        trigger_id = db.create_single_trigger("t", "p", soon, "path", None, False, True)
    elif kind == TriggerType.SCHEDULED:
        trigger_id = db.create_scheduled_trigger(
            "t", "p", "*/5 * * * *", soon, "path", None, False, True
        )
    else:
        trigger_id = db.create_queue_trigger("t", "p", "q", "path", None, False, True, 1)
    return str(trigger_id)


async def open_trigger(user: User, trigger_id: str) -> None:
    await show_tab(user, "Triggers")
    await until(lambda: table_rows(user, "trigger_table"))
    row = next(row for row in table_rows(user, "trigger_table") if row["id"] == trigger_id)
    click_row(user, "trigger_table", row)
    await until(lambda: has(user, "trigger_popup_save_button"))


@pytest.mark.parametrize("kind", list(TriggerType))
async def test_edit_enable_disable_kill_delete(
    connected: User, db: Store, kind: TriggerType
) -> None:
    user = connected
    trigger_id = seed(db, kind)

    await open_trigger(user, trigger_id)
    assert one(user, "trigger_popup_name_input").value == "t"
    assert "persistent" not in one(user, "trigger_popup").props
    assert not has(user, "trigger_popup_kill_button")
    user.find(marker="trigger_popup_name_input").clear().type("renamed")
    user.find(marker="trigger_popup_priority_input").clear().type("3")
    if kind == TriggerType.QUEUE:
        user.find(marker="trigger_popup_queue_input").clear().type("other-queue")
    if kind == TriggerType.SCHEDULED:
        user.find(marker="trigger_popup_cron_input").clear().type("0 12 * * *")
    user.find(marker="trigger_popup_save_button").click()
    await until(lambda: db.get_trigger(trigger_id).trigger_name == "renamed")
    edited = db.get_trigger(trigger_id)
    assert edited.priority == 3 and edited.type == kind
    if kind == TriggerType.QUEUE:
        assert edited.queue_name == "other-queue"  # type: ignore[attr-defined]
    if kind == TriggerType.SCHEDULED:
        assert edited.cron_expr == "0 12 * * *"  # type: ignore[attr-defined]
        assert edited.next_run.hour == 12 and edited.next_run.minute == 0  # type: ignore[attr-defined]

    # Disable an idle trigger: PAUSED. Enable: IDLE.
    await open_trigger(user, trigger_id)
    assert not has(user, "trigger_popup_kill_button")
    user.find(marker="trigger_popup_disable_button").click()
    await until(lambda: db.get_trigger(trigger_id).process_status == TriggerStatus.PAUSED)
    await open_trigger(user, trigger_id)
    user.find(marker="trigger_popup_enable_button").click()
    await until(lambda: db.get_trigger(trigger_id).process_status == TriggerStatus.IDLE)

    # A running trigger: Disable means PAUSING; Kill (shown only now) means KILLING.
    db.set_trigger_status(trigger_id, TriggerStatus.RUNNING)
    await open_trigger(user, trigger_id)
    user.find(marker="trigger_popup_disable_button").click()
    await until(lambda: db.get_trigger(trigger_id).process_status == TriggerStatus.PAUSING)
    db.set_trigger_status(trigger_id, TriggerStatus.RUNNING)
    await open_trigger(user, trigger_id)
    user.find(marker="trigger_popup_kill_button").click()
    await until(lambda: db.get_trigger(trigger_id).process_status == TriggerStatus.KILLING)
    await until(lambda: table_rows(user, "trigger_table")[0]["status"] == "Killing")
    assert table_rows(user, "trigger_table")[0]["status_color"] == "warning"

    # Delete asks first; "Cancel" keeps it, "Delete" removes it.
    await open_trigger(user, trigger_id)
    user.find(marker="trigger_popup_delete_button").click()
    await user.should_see("Delete trigger 'renamed'?")
    user.find(marker="question_popup_no_button").click()
    await until(lambda: not has(user, "question_popup_no_button"))
    assert len(db.get_all_triggers()) == 1
    user.find(marker="trigger_popup_delete_button").click()
    await user.should_see("Delete trigger 'renamed'?")
    user.find(marker="question_popup_yes_button").click()
    await until(lambda: db.get_all_triggers() == ())
    await until(lambda: table_rows(user, "trigger_table") == [])


async def test_enable_on_a_running_trigger_is_refused(connected: User, db: Store) -> None:
    user = connected
    trigger_id = db.create_scheduled_trigger(
        "nightly",
        "robot",
        "0 3 * * *",
        datetime.now() + timedelta(hours=1),
        "robot.py",
        None,
        False,
        False,
    )
    assert db.begin_trigger_run(trigger_id, "robot-1", None) is not None  # a Scheduler runs it
    await open_trigger(user, str(trigger_id))
    user.find(marker="trigger_popup_enable_button").click()
    await user.should_see("Enable refused: the trigger is Running")
    assert db.get_trigger(trigger_id).process_status == TriggerStatus.RUNNING
    assert has(user, "trigger_popup_save_button")  # the popup stays open


async def test_after_a_failure_choice_is_saved_and_shown(connected: User, db: Store) -> None:
    user = connected
    trigger_id = db.create_queue_trigger("q", "robot", "inbox", "robot.py", None, False, False, 1)
    await open_trigger(user, str(trigger_id))
    select = one(user, "trigger_popup_after_failure_select")
    assert select.visible and select.value is False  # NULL reads as "stop", as 3.0.0 does
    select.value = True
    user.find(marker="trigger_popup_save_button").click()
    await until(lambda: db.get_trigger(trigger_id).keep_running_after_failure is True)
    await open_trigger(user, str(trigger_id))
    assert one(user, "trigger_popup_after_failure_select").value is True


def page_text(user: User) -> str:
    """Every element of the page as the browser receives it (JSON)."""
    import json

    assert user.client is not None
    return "\n".join(
        json.dumps(element._to_dict(), default=str, ensure_ascii=False)
        for element in user.client.elements.values()
    )


async def test_a_git_token_in_the_process_path_is_shown_masked_and_kept(
    connected: User, db: Store
) -> None:
    """Issue 23, F4: the path input showed `https://robot:<token>@…` in clear (and the
    value travelled in a websocket frame). It is kept like a webhook URL: masked in the
    placeholder, kept when the input is left empty, replaced when one is typed."""
    user = connected
    token = "ghp_F4secretToken0123456789"
    path = f"https://robot:{token}@git.example/rpa.git"
    soon = datetime.now() + timedelta(hours=1)
    trigger_id = str(db.create_single_trigger("git", "p", soon, path, None, True, True))
    plain_id = seed(db, TriggerType.SINGLE)

    # A path without a secret is shown (and edited) as it is.
    await open_trigger(user, plain_id)
    assert one(user, "trigger_popup_path_input").value == "path"
    user.find(marker="trigger_popup_cancel_button").click()
    await until(lambda: not has(user, "trigger_popup_save_button"))

    await open_trigger(user, trigger_id)
    path_input = one(user, "trigger_popup_path_input")
    assert path_input.value == ""
    assert "https://robot:***@git.example/rpa.git" in path_input.props["placeholder"]
    assert token not in page_text(user)
    # Left empty: saving another change keeps the stored path.
    user.find(marker="trigger_popup_priority_input").clear().type("4")
    user.find(marker="trigger_popup_save_button").click()
    await until(lambda: db.get_trigger(trigger_id).priority == 4)
    assert db.get_trigger(trigger_id).process_path == path
    assert token not in page_text(user)

    # Typed: the new path replaces it.
    await open_trigger(user, trigger_id)
    new_path = "https://robot:ghp_newToken@git.example/rpa.git"
    user.find(marker="trigger_popup_path_input").type(new_path)
    user.find(marker="trigger_popup_save_button").click()
    await until(lambda: db.get_trigger(trigger_id).process_path == new_path)

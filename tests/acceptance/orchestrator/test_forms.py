"""Forms a new admin fills (issue 25): the cron field is checked as it is typed, in
words, with the next five runs under it; a process path missing on the Orchestrator's
machine is a warning when the trigger is saved, not an error."""

from datetime import datetime
from pathlib import Path

from croniter import croniter
from nicegui.testing.user import User

from openorch.store import Store
from support.ui import click_and_wait, one, show_tab, until


def fill(user: User, name: str, path: str) -> None:
    user.find(marker="trigger_popup_name_input").type(name)
    user.find(marker="trigger_popup_process_input").type("Process " + name)
    user.find(marker="trigger_popup_path_input").type(path)


async def test_cron_is_checked_as_typed_with_the_next_five_runs(connected: User) -> None:
    user = connected
    await show_tab(user, "Triggers")
    await click_and_wait(user, "trigger_new_scheduled_button", "trigger_popup_save_button")
    runs = one(user, "trigger_popup_cron_runs")
    user.find(marker="trigger_popup_cron_input").type("every monday")
    # No Save clicked: the field says what is wrong, in words, not the column's name.
    assert "Cron: 5 fields are needed (minute hour day month weekday" in runs.text
    assert "has 2" in runs.text
    assert "cron_expr" not in runs.text
    assert "text-negative" in runs.classes
    user.find(marker="trigger_popup_cron_input").clear().type("0 7 * * 1-5")
    stepper = croniter("0 7 * * 1-5", datetime.now())
    expected = [stepper.get_next(datetime).strftime("%a %d-%m-%Y %H:%M") for _ in range(5)]
    assert runs.text == "Next runs: " + ", ".join(expected)
    assert "text-negative" not in runs.classes
    user.find(marker="trigger_popup_cron_input").clear().type("61 * * * *")
    assert "Cron: '61 * * * *' is not a valid cron expression" in runs.text


async def test_a_missing_process_path_is_a_warning_on_save(
    connected: User, db: Store, tmp_path: Path
) -> None:
    user = connected
    await show_tab(user, "Triggers")
    await click_and_wait(user, "trigger_new_single_button", "trigger_popup_save_button")
    fill(user, "elsewhere", "C:/robots/only-on-the-robot.py")
    user.find(marker="trigger_popup_save_button").click()
    await until(lambda: len(db.get_all_triggers()) == 1)  # saved all the same
    await user.should_see("does not exist on this machine")

    script = tmp_path / "here.py"
    script.write_text("print('hi')\n")
    await click_and_wait(user, "trigger_new_single_button", "trigger_popup_save_button")
    fill(user, "here", str(script))
    user.find(marker="trigger_popup_save_button").click()
    await until(lambda: len(db.get_all_triggers()) == 2)
    await user.should_see("Trigger 'here' created.")
    warnings = [message for message in user.notify.messages if "does not exist" in message]
    assert len(warnings) == 1  # only the first trigger's


async def test_queue_dialog_cells_stay_one_line_with_the_whole_text_on_hover(
    connected: User, db: Store
) -> None:
    from support.ui import click_row, has, table_rows

    user = connected
    long_data = '{"customer": "' + "x" * 300 + '"}'
    element = db.create_queue_element("invoices", "INV-1", long_data, "import")
    db.set_queue_element_status(element.id, "IN_PROGRESS")
    await show_tab(user, "Queues")
    await until(lambda: table_rows(user, "queues_table"))
    click_row(user, "queues_table", table_rows(user, "queues_table")[0])
    await until(lambda: has(user, "queue_dialog_table") and table_rows(user, "queue_dialog_table"))
    table = one(user, "queue_dialog_table")
    (row,) = table_rows(user, "queue_dialog_table")
    assert row["id_short"] == "…" + str(element.id)[-8:] and row["id_full"] == str(element.id)
    assert row["data_full"] == long_data  # on hover; the popup shows it all
    columns = {column["name"]: column for column in table.columns}
    assert columns["id"]["field"] == "id_short" and columns["job_id"]["field"] == "job_id_short"
    for name in ("data", "message"):
        assert "white-space: nowrap" in columns[name]["style"]
        assert "text-overflow: ellipsis" in columns[name]["style"]
        assert f"body-cell-{name}" in table.slots

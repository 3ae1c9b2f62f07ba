"""Constants tab (constants and credentials) and Schedulers tab."""

from datetime import datetime, timedelta

from nicegui import ui
from nicegui.events import GenericEventArguments
from nicegui.testing.user import User

from openorch.orchestrator.frame import AUTO_REFRESH_SECONDS
from openorch.store import Store
from support.ui import click_and_wait, click_row, has, one, show_tab, table_rows, until


async def test_constants_create_edit_delete_and_duplicate(connected: User, db: Store) -> None:
    user = connected
    await show_tab(user, "Constants")
    await click_and_wait(user, "constant_new_button", "constant_popup_save_button")
    user.find(marker="constant_popup_name_input").type("greeting")
    user.find(marker="constant_popup_value_input").type("hello")
    user.find(marker="constant_popup_save_button").click()
    await until(
        lambda: [row["name"] for row in table_rows(user, "constants_table")] == ["greeting"]
    )
    assert db.get_constant("greeting").value == "hello"
    assert table_rows(user, "constants_table")[0]["changed_at"]

    # A duplicate name is refused with a message; the form stays open.
    await click_and_wait(user, "constant_new_button", "constant_popup_save_button")
    user.find(marker="constant_popup_name_input").type("greeting")
    user.find(marker="constant_popup_value_input").type("other")
    user.find(marker="constant_popup_save_button").click()
    await user.should_see("A constant named 'greeting' already exists.")
    assert db.get_constant("greeting").value == "hello"
    user.find(marker="constant_popup_cancel_button").click()
    await until(lambda: not has(user, "constant_popup_save_button"))

    click_row(user, "constants_table", table_rows(user, "constants_table")[0])
    await until(lambda: has(user, "constant_popup_save_button"))
    assert one(user, "constant_popup_name_input").enabled is False
    user.find(marker="constant_popup_value_input").clear().type("hi there")
    user.find(marker="constant_popup_save_button").click()
    await until(lambda: db.get_constant("greeting").value == "hi there")
    await until(lambda: table_rows(user, "constants_table")[0]["value"] == "hi there")

    click_row(user, "constants_table", table_rows(user, "constants_table")[0])
    await until(lambda: has(user, "constant_popup_delete_button"))
    user.find(marker="constant_popup_delete_button").click()
    await user.should_see("Delete constant 'greeting'?")
    user.find(marker="question_popup_yes_button").click()
    await until(lambda: db.get_constants() == ())
    await until(lambda: table_rows(user, "constants_table") == [])


async def test_credentials_never_show_the_password(connected: User, db: Store) -> None:
    user = connected
    await show_tab(user, "Constants")
    await click_and_wait(user, "credential_new_button", "credential_popup_save_button")
    user.find(marker="credential_popup_name_input").type("mail")
    user.find(marker="credential_popup_username_input").type("robot")
    user.find(marker="credential_popup_password_input").type("s3cret-pässword")
    user.find(marker="credential_popup_save_button").click()
    await until(lambda: table_rows(user, "credentials_table"))
    row = table_rows(user, "credentials_table")[0]
    assert row["username"] == "robot"
    assert row["password"] == "Password set (encrypted)" and "s3cret" not in str(row)
    assert db.get_credential("mail").password == "s3cret-pässword"

    await click_and_wait(user, "credential_new_button", "credential_popup_save_button")
    user.find(marker="credential_popup_name_input").type("mail")
    user.find(marker="credential_popup_password_input").type("x")
    user.find(marker="credential_popup_save_button").click()
    await user.should_see("A credential named 'mail' already exists.")
    user.find(marker="credential_popup_cancel_button").click()
    await until(lambda: not has(user, "credential_popup_save_button"))

    # Editing shows no password and requires typing it again.
    click_row(user, "credentials_table", row)
    await until(lambda: has(user, "credential_popup_save_button"))
    assert one(user, "credential_popup_password_input").value in ("", None)
    assert one(user, "credential_popup_username_input").value == "robot"
    user.find(marker="credential_popup_username_input").clear().type("robot2")
    user.find(marker="credential_popup_save_button").click()
    await user.should_see("Password is required")
    user.find(marker="credential_popup_password_input").type("new password")
    user.find(marker="credential_popup_save_button").click()
    await until(lambda: db.get_credential("mail").username == "robot2")
    assert db.get_credential("mail").password == "new password"

    await until(lambda: table_rows(user, "credentials_table")[0]["username"] == "robot2")
    click_row(user, "credentials_table", table_rows(user, "credentials_table")[0])
    await until(lambda: has(user, "credential_popup_delete_button"))
    user.find(marker="credential_popup_delete_button").click()
    await user.should_see("Delete credential 'mail'?")
    user.find(marker="question_popup_yes_button").click()
    await until(lambda: db.get_credentials() == ())


async def test_schedulers_table_marks_silent_ones(connected: User, db: Store) -> None:
    user = connected
    db.send_ping_from_scheduler("fresh")
    db.start_trigger_from_machine("fresh", "nightly")
    db.send_ping_from_scheduler("silent")
    with db.engine.begin() as connection:  # age one heartbeat (test setup, not UI code)
        from sqlalchemy import update

        from openorch.database import Scheduler

        connection.execute(
            update(Scheduler)
            .where(Scheduler.machine_name == "silent")
            .values(last_update=datetime.now() - timedelta(minutes=5))
        )
    await show_tab(user, "Schedulers")
    await until(lambda: len(table_rows(user, "schedulers_table")) == 2)
    rows = {row["machine_name"]: row for row in table_rows(user, "schedulers_table")}
    assert rows["fresh"]["stale"] is False and rows["silent"]["stale"] is True
    assert rows["fresh"]["latest_trigger"] == "nightly" and rows["fresh"]["latest_trigger_time"]
    assert rows["silent"]["latest_trigger"] == "None yet"


async def test_schedulers_table_shows_state_and_clock_offsets(connected: User, db: Store) -> None:
    """The tab judges liveness by the data layer's rule (each run's own timeout, the
    database's clock) and shows clock offsets over 30 s."""
    import uuid

    from sqlalchemy import update

    from openorch.database import Scheduler
    from openorch.store.runs.schedulers import RunIdentity

    user = connected
    db.register_run("behind", uuid.uuid4(), 30, "paused", here=RunIdentity("rpa-07", 4711))
    db.register_run("close", uuid.uuid4(), 30, "running")
    db.register_run("quiet", uuid.uuid4(), 30, "running")
    with db.engine.begin() as connection:  # test setup, not UI code
        connection.execute(
            update(Scheduler).where(Scheduler.machine_name == "behind").values(clock_offset=-299.6)
        )
        connection.execute(
            update(Scheduler).where(Scheduler.machine_name == "close").values(clock_offset=20.0)
        )
        # Silent for 40 s: dead by its own 30 s timeout (the old 1-minute rule said alive).
        connection.execute(
            update(Scheduler)
            .where(Scheduler.machine_name == "quiet")
            .values(last_update=datetime.now() - timedelta(seconds=40))
        )
    await show_tab(user, "Schedulers")
    await until(lambda: len(table_rows(user, "schedulers_table")) == 3)
    rows = {row["machine_name"]: row for row in table_rows(user, "schedulers_table")}
    assert rows["behind"]["clock"] == "5 min 0 s behind the database"
    assert rows["behind"]["state"] == "paused" and rows["behind"]["stale"] is False
    assert rows["behind"]["runs_on"] == "rpa-07, pid 4711" and rows["close"]["runs_on"] == ""
    assert rows["close"]["clock"] == ""
    assert rows["quiet"]["stale"] is True and rows["quiet"]["state"] == "not responding"


async def test_refresh_button_and_auto_refresh(connected: User, db: Store) -> None:
    user = connected
    await show_tab(user, "Constants")
    db.create_constant("late", "value")
    user.find(marker="refresh_button").click()
    await until(lambda: table_rows(user, "constants_table"))
    db.create_constant("later", "value")
    # The timer's tick refreshes the shown tab, but only while the window has focus.
    timers = [
        element
        for element in user.client.elements.values()  # type: ignore[union-attr]
        if isinstance(element, ui.timer) and element.interval == AUTO_REFRESH_SECONDS
    ]
    assert len(timers) == 1 and AUTO_REFRESH_SECONDS == 10.0
    layout = user.client.layout  # type: ignore[union-attr]
    for listener in layout._event_listeners.values():
        if listener.type == "openorch_focus":
            listener.handler(GenericEventArguments(sender=layout, client=user.client, args=False))
    await timers[0].callback()
    assert len(table_rows(user, "constants_table")) == 1
    for listener in layout._event_listeners.values():
        if listener.type == "openorch_focus":
            listener.handler(GenericEventArguments(sender=layout, client=user.client, args=True))
    await timers[0].callback()
    await until(lambda: len(table_rows(user, "constants_table")) == 2)

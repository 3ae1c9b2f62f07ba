"""The trigger dialog's zone, calendar and next-runs preview (issue 28), with `User`."""

import re
from datetime import date, datetime

from nicegui.testing.user import User

from openorch.database import QueueTrigger, ScheduledTrigger
from openorch.store import Store
from support.ui import click_and_wait, one, set_value, show_tab, until


def rows(user: User) -> list[str]:
    """The preview's lines in date order (`find` returns a set)."""
    try:
        found = [element.text for element in user.find(marker="trigger_popup_preview_row").elements]
    except AssertionError:
        return []
    return sorted(found, key=lambda line: datetime.strptime(line[4:20], "%d-%m-%Y %H:%M"))


def error_text(user: User) -> str:
    return str(one(user, "trigger_popup_preview_error").text)


#: Under load (2 cores, many test processes) a preview round trip can take seconds.
SLOW = 20.0


async def notified(user: User, text: str) -> None:
    """Wait for a notification holding `text`: the save's own answer, which the preview's
    error label (showing the same words as soon as the zone is typed) cannot stand in for."""
    await until(lambda: any(text in message for message in user.notify.messages), SLOW)


async def test_preview_follows_typing_and_bad_zone_changes_nothing(
    connected: User, db: Store
) -> None:
    user = connected
    user.javascript_rules[re.compile(r".*resolvedOptions\(\)\.timeZone.*")] = lambda _match: (
        "America/New_York"
    )
    year = date.today().year
    calendar = db.create_calendar("Denmark")
    db.fill_public_holidays(calendar, "DK", [year, year + 1])
    await show_tab(user, "Triggers")
    await click_and_wait(user, "trigger_new_scheduled_button", "trigger_popup_save_button")
    await until(lambda: len(one(user, "trigger_popup_calendar_select").options) == 2, SLOW)
    user.find(marker="trigger_popup_name_input").type("morning")
    user.find(marker="trigger_popup_process_input").type("Morning")
    user.find(marker="trigger_popup_path_input").type("C:/robots/morning.py")
    user.find(marker="trigger_popup_cron_input").type("0 7 * * *")
    await until(lambda: len(rows(user)) == 10, SLOW)

    # The zone as typed: every run at 07:00 Copenhagen time, shown in New York too.
    set_value(user, "trigger_popup_zone_input", "Europe/Copenhagen")
    await until(
        lambda: all(" 07:00 CE" in line for line in rows(user)) and len(rows(user)) == 10, SLOW
    )
    assert all("in your browser (America/New_York)" in line for line in rows(user))
    assert all(re.search(r"·\s+\w{3} 0[12]:00 E[SD]T", line) for line in rows(user)), rows(user)

    # The calendar with the one-click "working days": no weekend, no Danish holiday.
    set_value(user, "trigger_popup_calendar_select", str(calendar))
    user.find(marker="trigger_popup_working_days_button").click()
    expected = db.preview_next_runs("0 7 * * *", "Europe/Copenhagen", calendar, "WORKING_DAYS")
    holidays = {day.day for day in db.get_calendar_days(calendar)}
    assert all(run.weekday() < 5 and run.date() not in holidays for run in expected)

    def shows_expected() -> bool:
        shown = rows(user)
        return len(shown) == 10 and all(
            run.strftime("%d-%m-%Y") in line for run, line in zip(expected, shown, strict=True)
        )

    await until(shows_expected, SLOW)

    # A bad zone: the data layer's message, no times, and Save changes nothing.
    set_value(user, "trigger_popup_zone_input", "Europe/Kopenhagen")
    await until(lambda: "not a known time zone" in error_text(user) and not rows(user), SLOW)
    user.notify.messages.clear()
    user.find(marker="trigger_popup_save_button").click()
    # The save's own notification, not the preview's label: the label already says this,
    # and a test that went on at once changed the zone under the save still to run.
    await notified(user, "time_zone is not a known time zone: 'Europe/Kopenhagen'")
    assert db.get_all_triggers() == ()
    assert one(user, "trigger_popup_save_button").enabled  # the failed save is over

    set_value(user, "trigger_popup_zone_input", "Europe/Copenhagen")
    await until(shows_expected, SLOW)
    assert error_text(user) == ""
    # A double click: the second click arrives while the first save is in flight and
    # is ignored, so one dialog creates one trigger.
    user.find(marker="trigger_popup_save_button").click()
    user.find(marker="trigger_popup_save_button").click()
    await notified(user, "Trigger 'morning' created.")
    assert len(db.get_all_triggers()) == 1, db.get_all_triggers()
    (saved,) = db.get_all_triggers()
    assert isinstance(saved, ScheduledTrigger)
    assert (saved.time_zone, saved.calendar_id, saved.calendar_rule) == (
        "Europe/Copenhagen",
        calendar,
        "WORKING_DAYS",
    )
    assert saved.next_run == expected[0]


async def test_queue_window_bad_time_is_refused_then_saved(connected: User, db: Store) -> None:
    user = connected
    await show_tab(user, "Triggers")
    await click_and_wait(user, "trigger_new_queue_button", "trigger_popup_save_button")
    user.find(marker="trigger_popup_name_input").type("night queue")
    user.find(marker="trigger_popup_process_input").type("Invoices")
    user.find(marker="trigger_popup_path_input").type("C:/robots/invoices.py")
    user.find(marker="trigger_popup_queue_input").type("invoices")
    set_value(user, "trigger_popup_window_start_input", "6 am")
    set_value(user, "trigger_popup_window_end_input", "18:00")
    user.find(marker="trigger_popup_save_button").click()
    await user.should_see("window_start must be a time of day as HH:MM")
    assert db.get_all_triggers() == ()
    set_value(user, "trigger_popup_window_start_input", "06:00")
    set_value(user, "trigger_popup_zone_input", "Europe/Copenhagen")
    user.find(marker="trigger_popup_save_button").click()
    await until(lambda: len(db.get_all_triggers()) == 1)
    (saved,) = db.get_all_triggers()
    assert isinstance(saved, QueueTrigger)
    assert (saved.window_start, saved.window_end, saved.time_zone) == (
        "06:00",
        "18:00",
        "Europe/Copenhagen",
    )


def day_rows(user: User) -> list[dict[str, str]]:
    return list(one(user, "calendar_popup_days_table").rows)


async def test_calendars_by_hand_and_from_holidays_in_the_orchestrator(
    connected: User, db: Store
) -> None:
    user = connected
    await show_tab(user, "Triggers")
    await click_and_wait(user, "trigger_calendars_button", "calendar_popup_create_button")
    await user.should_see("No calendar yet: create one.")
    user.find(marker="calendar_popup_name_input").type("Denmark")
    user.find(marker="calendar_popup_create_button").click()
    await user.should_see("Calendar 'Denmark' created.")
    (calendar,) = db.get_calendars()

    # A bad date among good ones: a clear error, and none is added.
    set_value(user, "calendar_popup_days_input", "2030-06-05, 2030-02-30")
    user.find(marker="calendar_popup_add_button").click()
    await user.should_see("day must be a date as YYYY-MM-DD; got '2030-02-30'.")
    assert db.get_calendar_days(calendar.id) == ()
    set_value(user, "calendar_popup_days_input", "2030-06-05, 2030-12-23")
    set_value(user, "calendar_popup_description_input", "Office closed")
    user.find(marker="calendar_popup_add_button").click()
    await until(lambda: len(day_rows(user)) == 2)

    # Public holidays: a bad country is named, then DK fills the year.
    set_value(user, "calendar_popup_country_input", "Danmark")
    set_value(user, "calendar_popup_years_input", "2030")
    user.find(marker="calendar_popup_fill_button").click()
    await until(
        lambda: any(
            "country 'Danmark' is not known to the holidays package" in message
            for message in user.notify.messages
        )
    )
    assert len(db.get_calendar_days(calendar.id)) == 2
    set_value(user, "calendar_popup_country_input", "DK")
    user.find(marker="calendar_popup_fill_button").click()
    await until(lambda: len(day_rows(user)) > 10)
    days = {row["day"]: row for row in day_rows(user)}
    assert days["2030-12-25"]["source"] == "holidays"
    assert days["2030-12-23"]["description"] == "Office closed"
    assert "holidays of DK (2030)" in str(one(user, "calendar_popup_summary").text)

    # Remove a day, then delete the calendar.
    table = one(user, "calendar_popup_days_table")
    table.selected = [days["2030-12-23"]]
    user.find(marker="calendar_popup_remove_button").click()
    await until(lambda: "2030-12-23" not in {row["day"] for row in day_rows(user)})
    user.find(marker="calendar_popup_delete_button").click()
    await user.should_see("Delete calendar 'Denmark'?")
    user.find(marker="question_popup_yes_button").click()
    await until(lambda: db.get_calendars() == ())


def test_next_run_cell_says_when_the_calendar_leaves_no_run() -> None:
    from openorch.database import ScheduledTrigger, TriggerStatus
    from openorch.orchestrator.tabs.triggers import next_run_text
    from openorch.store.runs.schedule import NO_NEXT_RUN

    def scheduled(next_run: datetime) -> ScheduledTrigger:
        return ScheduledTrigger(next_run=next_run, process_status=TriggerStatus.IDLE)

    assert next_run_text(scheduled(NO_NEXT_RUN)) == "None: the calendar leaves no run"
    assert next_run_text(scheduled(datetime(2030, 1, 2, 3, 4, 5))) == "02-01-2030 03:04:05"

"""Calendars, zones and queue windows through the data layer, on SQLite and PostgreSQL."""

import uuid
from datetime import date, datetime, timedelta

import pytest

from openorch.database import QueueTrigger, ScheduledTrigger, TriggerStatus
from openorch.store import Store
from openorch.store.runs.schedule import NO_NEXT_RUN, CalendarRule, Schedule, next_run


def scheduled(store: Store, name: str = "daily", **extra: object) -> uuid.UUID:
    values: dict[str, object] = {
        "trigger_name": name,
        "process_name": "proc",
        "cron_expr": "0 7 * * *",
        "next_run": datetime.now() - timedelta(minutes=1),
        "process_path": "C:/robots/proc.py",
        "process_args": "",
        "is_git_repo": False,
        "is_blocking": False,
    }
    values.update(extra)
    return store.create_scheduled_trigger(**values)  # type: ignore[arg-type]


def queue_trigger(store: Store, name: str = "q", **extra: object) -> uuid.UUID:
    values: dict[str, object] = {
        "trigger_name": name,
        "process_name": "proc",
        "queue_name": "invoices",
        "process_path": "C:/robots/proc.py",
        "process_args": "",
        "is_git_repo": False,
        "is_blocking": False,
        "min_batch_size": 1,
    }
    values.update(extra)
    return store.create_queue_trigger(**values)  # type: ignore[arg-type]


def test_calendar_by_hand_and_from_public_holidays(store: Store) -> None:
    key = store.create_calendar("Denmark")
    assert store.add_calendar_days(key, ["2027-06-05", date(2027, 12, 24)], "Office closed") == 2
    assert store.fill_public_holidays(key, "dk", [2027]) >= 10
    days = {day.day: day for day in store.get_calendar_days(key)}
    assert date(2027, 12, 25) in days and days[date(2027, 12, 25)].source == "holidays"
    assert days[date(2027, 6, 5)].source == "manual"  # Constitution Day: not overwritten
    (summary,) = store.get_calendars()
    assert (summary.name, summary.country, summary.years) == ("Denmark", "DK", "2027")
    assert summary.first_day == date(2027, 1, 1) and summary.day_count == len(days)
    assert store.remove_calendar_days(key, ["2027-06-05"]) == 1
    # A region: Bavaria has Epiphany, Berlin does not.
    bavaria = store.create_calendar("Bavaria")
    store.fill_public_holidays(bavaria, "DE", [2027], subdivision="BY")
    assert date(2027, 1, 6) in {day.day for day in store.get_calendar_days(bavaria)}


def test_bad_input_is_a_clear_error_and_changes_nothing(store: Store) -> None:
    key = store.create_calendar("Ops")
    store.add_calendar_days(key, ["2027-01-04"])
    with pytest.raises(ValueError, match=r"YYYY-MM-DD.*2027-13-01"):
        store.add_calendar_days(key, ["2027-01-05", "2027-13-01"])
    with pytest.raises(ValueError, match="not known to the holidays package"):
        store.fill_public_holidays(key, "XX", [2027])
    with pytest.raises(ValueError, match="not a region of DK"):
        store.fill_public_holidays(key, "DK", [2027], subdivision="ZZ")
    with pytest.raises(ValueError, match="already exists"):
        store.create_calendar("Ops")
    assert [day.day for day in store.get_calendar_days(key)] == [date(2027, 1, 4)]
    with pytest.raises(ValueError, match="time_zone is not a known time zone"):
        scheduled(store, time_zone="Europe/Kopenhagen")
    with pytest.raises(ValueError, match="needs a calendar"):
        scheduled(store, calendar_rule="SKIP")
    with pytest.raises(ValueError, match="No calendar with id"):
        scheduled(store, calendar_id=uuid.uuid4(), calendar_rule="SKIP")
    with pytest.raises(ValueError, match="HH:MM"):
        queue_trigger(store, window_start="6 am")
    assert store.get_all_triggers() == ()


def test_begin_moves_next_run_by_zone_and_calendar(store: Store) -> None:
    calendar = store.create_calendar("Holidays")
    store.add_calendar_days(calendar, [date(2030, 12, 24), date(2030, 12, 25)])
    key = scheduled(
        store,
        cron_expr="0 7 * * *",
        time_zone="America/New_York",
        calendar_id=calendar,
        calendar_rule="WORKING_DAYS",
    )
    moment = datetime(2030, 12, 23, 12, 0)  # a Monday, machine local time
    assert store.begin_trigger(key, now=moment)
    trigger = store.get_trigger(key)
    assert isinstance(trigger, ScheduledTrigger)
    assert trigger.time_zone == "America/New_York" and trigger.calendar_rule == "WORKING_DAYS"
    expected = next_run(
        Schedule(
            "0 7 * * *",
            "America/New_York",
            CalendarRule.WORKING_DAYS,
            frozenset({date(2030, 12, 24), date(2030, 12, 25)}),
        ),
        moment,
    )
    assert expected is not None and trigger.next_run == expected
    ny = expected.astimezone().astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert (ny.date(), ny.hour) == (date(2030, 12, 26), 7)
    # The API's preview starts with the stored run.
    assert store.get_trigger_next_runs(key, 3)[0] == expected


def test_a_trigger_without_zone_or_calendar_keeps_the_originals_next_run(store: Store) -> None:
    key = scheduled(store, cron_expr="30 2 * * *")
    moment = datetime(2031, 3, 30, 1, 0)
    assert store.begin_trigger(key, now=moment)
    from croniter import croniter

    assert store.get_trigger(key).next_run == croniter("30 2 * * *", moment).get_next(datetime)  # type: ignore[attr-defined]


def test_changing_a_calendar_recomputes_next_run_of_idle_triggers(store: Store) -> None:
    calendar = store.create_calendar("Closures")
    key = scheduled(store, calendar_id=calendar, calendar_rule="SKIP")
    tomorrow = (datetime.now() + timedelta(days=1)).date()
    every_day = [tomorrow + timedelta(days=n) for n in range(-2, 400)]
    store.add_calendar_days(calendar, every_day)
    assert store.get_trigger(key).next_run == NO_NEXT_RUN  # type: ignore[attr-defined]
    assert store.get_trigger_next_runs(key) == []
    removed = datetime.now()
    store.remove_calendar_days(calendar, every_day)
    first = store.get_trigger(key).next_run  # type: ignore[attr-defined]
    assert removed < first < removed + timedelta(days=1, minutes=1)
    with pytest.raises(ValueError, match="in use by trigger"):
        store.delete_calendar(calendar)
    store.delete_trigger(key)
    store.delete_calendar(calendar)
    assert store.get_calendars() == ()


def test_preview_of_a_rule_as_typed(store: Store) -> None:
    calendar = store.create_calendar("Christmas")
    store.add_calendar_days(calendar, ["2030-12-25"])
    runs = store.preview_next_runs(
        "0 7 * * *", None, calendar, "MOVE", count=3, after=datetime(2030, 12, 24, 8, 0)
    )
    assert runs == [
        datetime(2030, 12, 26, 7, 0),
        datetime(2030, 12, 27, 7, 0),
        datetime(2030, 12, 28, 7, 0),
    ]
    with pytest.raises(ValueError, match="cron_expr"):
        store.preview_next_runs("0 7 * *")
    with pytest.raises(ValueError, match="time_zone"):
        store.preview_next_runs("0 7 * * *", "Mars/Olympus")


def test_queue_trigger_waits_for_its_window_and_working_days(store: Store) -> None:
    now = datetime.now()
    inside = queue_trigger(
        store,
        "inside",
        window_start=(now - timedelta(minutes=30)).strftime("%H:%M"),
        window_end=(now + timedelta(minutes=30)).strftime("%H:%M"),
    )
    queue_trigger(
        store,
        "outside",
        window_start=(now + timedelta(minutes=30)).strftime("%H:%M"),
        window_end=(now + timedelta(minutes=90)).strftime("%H:%M"),
    )
    closed = store.create_calendar("Closed today")
    store.add_calendar_days(closed, [now.date()])
    queue_trigger(store, "holiday", calendar_id=closed)
    plain = queue_trigger(store, "plain")
    store.create_queue_element("invoices", reference="r1")
    pending = {trigger.id for trigger in store.get_pending_queue_triggers()}
    if (now - timedelta(minutes=30)).date() == (now + timedelta(minutes=30)).date():
        assert pending == {inside, plain}
    else:  # around midnight the window crosses it: still open now
        assert inside in pending and plain in pending and len(pending) == 2
    trigger = store.get_trigger(inside)
    assert isinstance(trigger, QueueTrigger) and trigger.window_start is not None
    assert trigger.process_status == TriggerStatus.IDLE

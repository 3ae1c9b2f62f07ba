"""Mixed fleets (issue 28): the original 3.0.0 on a database whose triggers have zones
and calendars: it reads and begins them, and openorch puts their next run right."""

from datetime import date, datetime, timedelta

from openorch.database import ScheduledTrigger
from openorch.store import Store
from openorch.store.runs.schedule import CalendarRule, Schedule, next_run
from support.original import OriginalVenv, run_original


def test_original_begins_a_calendar_trigger_and_openorch_corrects_its_next_run(
    original: OriginalVenv, sqlite_db_url: str, crypto_key: str
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    calendar = store.create_calendar("The coming week off")
    today = date.today()
    # Today and the next week are off: the original's next 07:00 (machine time) is today's
    # before 07:00 and tomorrow's after, a day off either way, whenever the test runs.
    off = [today + timedelta(days=n) for n in range(8)]
    store.add_calendar_days(calendar, off)
    key = store.create_scheduled_trigger(
        "zoned",
        "proc",
        "0 7 * * *",
        datetime.now() + timedelta(hours=1),
        "C:/robots/proc.py",
        "",
        False,
        False,
        time_zone="Pacific/Auckland",
        calendar_id=calendar,
        calendar_rule="SKIP",
    )
    # A first time that is no run time of the rule is corrected too (as a Scheduler's
    # poll would), so the original's change below is the only wrong one.
    store.correct_next_runs()

    result = run_original(original, "begin_scheduled.py", sqlite_db_url, str(key))
    assert result == {"names": ["zoned"], "began": True}
    trigger = store.get_trigger(key)
    assert isinstance(trigger, ScheduledTrigger)
    theirs = trigger.next_run  # the original's: the next 07:00 machine time, a day off
    assert theirs.date() in off and theirs.hour == 7

    assert store.correct_next_runs() == 1
    corrected = store.get_trigger(key).next_run  # type: ignore[attr-defined]
    schedule = Schedule("0 7 * * *", "Pacific/Auckland", CalendarRule.SKIP, frozenset(off))
    assert corrected == next_run(
        schedule, max(trigger.last_run, datetime.now() - timedelta(minutes=5))
    )  # type: ignore[type-var]
    assert store.correct_next_runs() == 0  # right now: left alone

    # Begun by the original again, and read as due before any correction ran: not due,
    # corrected instead.
    run_original(original, "begin_scheduled.py", sqlite_db_url, str(key))
    wrong = store.get_trigger(key).next_run  # type: ignore[attr-defined]
    assert wrong.date() in off
    assert store.get_pending_scheduled_triggers(wrong + timedelta(minutes=1)) == ()
    assert store.get_trigger(key).next_run != wrong  # type: ignore[attr-defined]
    assert store.correct_next_runs() == 0
    store.close()

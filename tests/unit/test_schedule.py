"""The pure next-run computation (store/runs/schedule.py): zones, both DST changes in both
zones, calendars with skip, move and working days, leap days, and a calendar that leaves
no run (None, quickly: never an endless loop).

Results are naive times in the machine's zone; the tests pin that zone (`local_zone`)
to UTC, so each expectation is one fixed instant.
"""

import itertools
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from openorch.store.errors import BadInput
from openorch.store.runs.schedule import (
    NO_NEXT_RUN,
    CalendarRule,
    Schedule,
    check_rule,
    check_time_zone,
    next_run,
    next_runs,
    stored_next_run,
)

UTC = ZoneInfo("UTC")
CPH = "Europe/Copenhagen"
NYC = "America/New_York"


def utc(*parts: int) -> datetime:
    return datetime(*parts)  # type: ignore[arg-type]


def runs(schedule: Schedule, after: datetime, count: int = 10) -> list[datetime]:
    return next_runs(schedule, after, count, local_zone=UTC)


def wall(moments: list[datetime], zone: str) -> list[str]:
    """The runs as wall-clock text with offset in `zone` (what an admin there reads)."""
    return [
        m.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).strftime("%m-%d %H:%M%z") for m in moments
    ]


# --- no zone, no calendar: exactly today's behaviour ------------------------------------


def test_legacy_schedule_is_croniter_on_naive_local_time() -> None:
    from croniter import croniter

    after = datetime(2026, 3, 29, 1, 50)
    expected = croniter("30 2 * * *", after).get_next(datetime)
    assert next_run(Schedule("30 2 * * *"), after) == expected == datetime(2026, 3, 29, 2, 30)


# --- DST: Copenhagen ---------------------------------------------------------------------


def test_copenhagen_spring_forward_missing_time_runs_once_at_the_next_valid_time() -> None:
    # 29 March 2026: 02:00 CET becomes 03:00 CEST; 02:30 does not exist.
    found = runs(Schedule("30 2 * * *", CPH), utc(2026, 3, 27, 12, 0), 3)
    assert wall(found, CPH) == ["03-28 02:30+0100", "03-29 03:00+0200", "03-30 02:30+0200"]


def test_copenhagen_fall_back_ambiguous_time_runs_once_at_its_first_occurrence() -> None:
    # 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
    found = runs(Schedule("30 2 * * *", CPH), utc(2026, 10, 24, 12, 0), 2)
    assert found == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    assert wall(found, CPH) == ["10-25 02:30+0200", "10-26 02:30+0100"]


@pytest.mark.parametrize(
    ("zone", "spring", "fall"),
    [
        (CPH, utc(2026, 3, 29, 0, 0), utc(2026, 10, 25, 0, 0)),
        (NYC, utc(2026, 3, 8, 6, 0), utc(2026, 11, 1, 5, 0)),
    ],
)
def test_every_15_minutes_is_every_15_minutes_of_real_time_through_both_changes(
    zone: str, spring: datetime, fall: datetime
) -> None:
    schedule = Schedule("*/15 * * * *", zone)
    for change in (spring, fall):
        found = runs(schedule, change - timedelta(hours=2), 16)
        gaps = {later - earlier for earlier, later in itertools.pairwise(found)}
        assert gaps == {timedelta(minutes=15)}, (zone, change, found)
        assert len(set(found)) == len(found)


def test_new_york_spring_forward_and_fall_back() -> None:
    # 8 March 2026: 02:00 EST becomes 03:00 EDT. 1 November 2026: 02:00 EDT becomes 01:00 EST.
    spring = runs(Schedule("30 2 * * *", NYC), utc(2026, 3, 7, 12, 0), 2)
    assert wall(spring, NYC) == ["03-08 03:00-0400", "03-09 02:30-0400"]
    fall = runs(Schedule("30 1 * * *", NYC), utc(2026, 10, 31, 12, 0), 2)
    assert wall(fall, NYC) == ["11-01 01:30-0400", "11-02 01:30-0500"]


def test_zone_decides_the_instant_whatever_the_machine_zone() -> None:
    schedule = Schedule("0 7 * * *", CPH)
    in_utc = next_run(schedule, datetime(2026, 6, 1, 0, 0), local_zone=UTC)
    tokyo = ZoneInfo("Asia/Tokyo")
    in_tokyo = next_run(schedule, datetime(2026, 6, 1, 9, 0), local_zone=tokyo)
    assert in_utc == datetime(2026, 6, 1, 5, 0)
    assert in_tokyo == datetime(2026, 6, 1, 14, 0)  # the same instant, as Tokyo local time


def test_machine_in_a_dst_zone_never_gets_a_run_that_looks_due_at_once() -> None:
    """The database holds naive local times; on a Copenhagen machine the repeated hour
    is ambiguous. A stored next run must be later as naive time too: no run twice."""
    local = ZoneInfo(CPH)
    schedule = Schedule("*/15 * * * *", CPH)
    moment = datetime(2026, 10, 25, 2, 45)  # the first 02:45 (fold 0)
    found = next_runs(schedule, moment, 4, local_zone=local)
    assert all(later > earlier for earlier, later in zip([moment, *found], found, strict=False))


# --- calendars ----------------------------------------------------------------------------

CHRISTMAS = frozenset({date(2026, 12, 24), date(2026, 12, 25)})


def test_skip_drops_runs_on_calendar_days() -> None:
    schedule = Schedule("0 7 * * *", CPH, CalendarRule.SKIP, CHRISTMAS)
    found = runs(schedule, utc(2026, 12, 23, 12, 0), 3)
    assert [m.date() for m in found] == [date(2026, 12, 26), date(2026, 12, 27), date(2026, 12, 28)]


def test_move_runs_on_the_next_working_day_once() -> None:
    # Thursday 24 and Friday 25 December are off: both runs move to Monday 28, once.
    schedule = Schedule("0 7 * * 4,5", CPH, CalendarRule.MOVE, CHRISTMAS)
    found = runs(schedule, utc(2026, 12, 20, 0, 0), 3)
    assert wall(found, CPH) == ["12-28 07:00+0100", "12-31 07:00+0100", "01-01 07:00+0100"]
    # Asked on the Saturday or the Sunday in between, the moved run is still ahead.
    assert runs(schedule, utc(2026, 12, 26, 12, 0), 1) == [utc(2026, 12, 28, 6, 0)]
    assert runs(schedule, utc(2026, 12, 27, 12, 0), 1) == [utc(2026, 12, 28, 6, 0)]


def test_working_days_is_monday_to_friday_minus_the_calendar() -> None:
    schedule = Schedule("0 7 * * *", CPH, CalendarRule.WORKING_DAYS, CHRISTMAS)
    found = runs(schedule, utc(2026, 12, 20, 0, 0), 5)
    assert [m.day for m in found] == [21, 22, 23, 28, 29]
    no_calendar = Schedule("0 7 * * *", None, CalendarRule.WORKING_DAYS)
    assert [m.weekday() for m in runs(no_calendar, utc(2026, 12, 19, 0, 0), 5)] == [0, 1, 2, 3, 4]


def test_leap_days() -> None:
    leap = runs(Schedule("0 7 29 2 *", CPH, CalendarRule.SKIP, frozenset()), utc(2025, 3, 1), 2)
    assert [m.date() for m in leap] == [date(2028, 2, 29), date(2032, 2, 29)]
    # Moving off a leap day lands on 1 March (a Wednesday in 2028).
    move = Schedule("0 7 * * *", CPH, CalendarRule.MOVE, frozenset({date(2028, 2, 29)}))
    assert runs(move, utc(2028, 2, 28, 12, 0), 2) == [utc(2028, 3, 1, 6, 0), utc(2028, 3, 2, 6, 0)]


@pytest.mark.parametrize("rule", list(CalendarRule))
def test_a_calendar_covering_every_day_of_a_year_leaves_no_next_run(rule: CalendarRule) -> None:
    every_day = frozenset(date(2028, 1, 1) + timedelta(days=n) for n in range(366))
    schedule = Schedule("0 7 * * *", CPH, rule, every_day)
    started = time.process_time()  # CPU time: a busy machine must not fail it
    assert next_run(schedule, utc(2027, 12, 31, 23, 30), local_zone=UTC) is None
    assert stored_next_run(schedule, utc(2027, 12, 31, 23, 30), local_zone=UTC) == NO_NEXT_RUN
    assert runs(schedule, utc(2027, 12, 31, 23, 30)) == []
    # Every minute: the search jumps day by day, so it ends quickly too, on the first
    # minute after the calendar (within the 366-day horizon of the cron's next time).
    minutely = Schedule("* * * * *", CPH, rule, every_day)
    assert runs(minutely, utc(2027, 12, 31, 23, 0), 2) == [
        utc(2028, 12, 31, 23, 0),
        utc(2028, 12, 31, 23, 1),
    ]
    assert time.process_time() - started < 3.0


# --- input checks -------------------------------------------------------------------------


def test_bad_zone_and_rule_names_are_clear_errors() -> None:
    assert check_time_zone(" Europe/Copenhagen ") == CPH
    assert check_time_zone("") is None
    for bad in ("Europe/Kopenhagen", "../etc/passwd", "x" * 100, 5):
        with pytest.raises(BadInput, match="time_zone"):
            check_time_zone(bad)
    assert check_rule("MOVE") is CalendarRule.MOVE
    with pytest.raises(BadInput, match="calendar_rule must be one of SKIP, MOVE, WORKING_DAYS"):
        check_rule("SOMETIMES")


# --- queue trigger time windows -------------------------------------------------------------


def test_queue_window_in_the_triggers_zone_on_working_days() -> None:
    import uuid

    from openorch.database import QueueTrigger
    from openorch.store.runs.calendars import queue_window_open

    def window(
        start: str | None, end: str | None, zone: str | None, calendar: bool
    ) -> QueueTrigger:
        return QueueTrigger(
            window_start=start,
            window_end=end,
            time_zone=zone,
            calendar_id=uuid.uuid4() if calendar else None,
        )

    # `now` is naive machine time: without a zone it is read as is; with one, converted.
    monday_0530 = datetime(2026, 12, 21, 5, 30)
    monday_0530_utc = (
        datetime(2026, 12, 21, 5, 30, tzinfo=UTC).astimezone().replace(tzinfo=None)
    )  # 06:30 in Copenhagen
    day = window("06:00", "18:00", None, False)
    assert not queue_window_open(day, frozenset(), monday_0530)  # machine time 05:30
    assert queue_window_open(window("06:00", "18:00", CPH, False), frozenset(), monday_0530_utc)
    assert not queue_window_open(window("06:00", "18:00", NYC, False), frozenset(), monday_0530_utc)
    night = window("22:00", "06:00", None, False)  # crosses midnight
    assert queue_window_open(night, frozenset(), monday_0530)
    assert queue_window_open(night, frozenset(), datetime(2026, 12, 21, 23, 0))
    assert not queue_window_open(night, frozenset(), datetime(2026, 12, 21, 12, 0))
    # With a calendar: only working days (Mon–Fri minus its days).
    calendar = window("06:00", "18:00", CPH, True)
    assert queue_window_open(calendar, frozenset(), monday_0530_utc)
    assert not queue_window_open(calendar, frozenset({date(2026, 12, 21)}), monday_0530_utc)
    saturday = datetime(2026, 12, 19, 10, 0, tzinfo=UTC).astimezone().replace(tzinfo=None)
    assert not queue_window_open(calendar, frozenset(), saturday)
    # Nothing set: always (the original's behaviour).
    assert queue_window_open(window(None, None, None, False), frozenset(), monday_0530)

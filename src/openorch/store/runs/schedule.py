"""When a scheduled trigger runs next: cron + time zone + business calendar. Pure (no SQL).

The one place that turns a trigger's rule into run times. The Scheduler's BEGIN
(`state.begin_trigger`), the trigger dialog's preview and the HTTP API's `next-runs` all
call `next_run` / `next_runs`, so what an admin sees is what a Scheduler does.

The database holds naive local times (the original's schema: a Scheduler compares
`next_run` with its own `datetime.now()`), so every result here is a naive datetime in
the computing machine's local zone (`local_zone`, given only by tests).

Rules (docs/scheduler.md says the same for admins):

- No time zone and no calendar: exactly today's behaviour (croniter on naive local time),
  so triggers written by the original and by earlier openorch versions do not move.
- With a time zone the cron names wall-clock times *in that zone*:
  - a time that does not exist (spring forward) runs once, at the first valid time after
    the gap (02:30 on the spring day in Copenhagen runs at 03:00);
  - a time that exists twice (fall back) runs once, at its first occurrence; except that a
    cron whose minute or hour field starts with ``*`` (``*/15 * * * *``, ``0 * * * *``)
    runs in real time through the repeated hour (as Vixie cron does), so ``*/15`` keeps
    running every 15 minutes of real time through both changes.
- A calendar's dates are non-working days, judged by the run's date in the trigger's zone:
  ``SKIP`` drops runs on them; ``MOVE`` moves such a run to the next working day
  (Mon–Fri, not in the calendar) at the same wall time; ``WORKING_DAYS`` runs only on
  Mon–Fri days that are not in the calendar (the one-click "working days" choice; also
  usable without a calendar).
- If the calendar leaves no run within `HORIZON` of the cron's next time (a calendar that
  covers every day of a year), there is no next run: `None`, never an endless loop.
"""

import enum
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openorch.store.errors import BadInput

#: How far past the cron's next time a calendar may push the search before it gives up.
HORIZON = timedelta(days=366)

#: How far clocks may jump at a DST change (3 h covers every zone in use).
_MAX_SHIFT = timedelta(hours=3)

#: The stored `next_run` of a trigger whose calendar leaves it no run: never due, and
#: recomputed when the calendar changes. (The column is NOT NULL in the original's schema.)
NO_NEXT_RUN = datetime(9999, 12, 31, 0, 0)


class CalendarRule(enum.Enum):
    """What a scheduled trigger does on a non-working day. The member name is stored."""

    SKIP = "Skip non-working days"
    MOVE = "Move to the next working day"
    WORKING_DAYS = "Working days only (Mon–Fri minus the calendar)"


@dataclass(frozen=True)
class Schedule:
    """Everything that decides a scheduled trigger's run times."""

    cron_expr: str
    time_zone: str | None = None
    rule: CalendarRule | None = None
    #: The calendar's non-working dates (empty: no calendar, or an empty one).
    days_off: frozenset[date] = field(default_factory=frozenset)

    @property
    def is_legacy(self) -> bool:
        """True when the trigger behaves exactly as in the original."""
        return self.time_zone is None and self.rule is None


def check_time_zone(value: object, *, required: bool = False) -> str | None:
    """An IANA zone name (`Europe/Copenhagen`), or None for "the machine's local time".

    Raises:
        BadInput: not a zone the zone database knows.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadInput("time_zone is required: an IANA name such as 'Europe/Copenhagen'.")
        return None
    if not isinstance(value, str):
        raise BadInput(f"time_zone must be text, not {type(value).__name__}.")
    name = value.strip()
    if len(name) > 64 or "\x00" in name:
        raise BadInput(f"time_zone is not a known time zone: {name[:70]!r}.")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise BadInput(
            f"time_zone is not a known time zone: {name!r} (use an IANA name such as "
            "'Europe/Copenhagen' or 'America/New_York')."
        ) from error
    return name


def check_rule(value: object) -> CalendarRule | None:
    """A `CalendarRule` (member, name or label), or None.

    Raises:
        BadInput: anything else.
    """
    if value is None or value == "":
        return None
    if isinstance(value, CalendarRule):
        return value
    for rule in CalendarRule:
        if value in (rule.name, rule.value):
            return rule
    names = ", ".join(rule.name for rule in CalendarRule)
    raise BadInput(f"calendar_rule must be one of {names}; got {value!r}.")


def _local(local_zone: tzinfo | None) -> tzinfo:
    if local_zone is not None:
        return local_zone
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


def _to_local_naive(instant: datetime, local_zone: tzinfo | None) -> datetime:
    if local_zone is None:
        return instant.astimezone().replace(tzinfo=None)
    return instant.astimezone(local_zone).replace(tzinfo=None)


def _from_local_naive(moment: datetime, local_zone: tzinfo | None) -> datetime:
    if moment.tzinfo is not None:
        return moment
    if local_zone is None:
        return moment.astimezone()  # naive = the machine's local time (fold respected)
    return moment.replace(tzinfo=local_zone)


def _is_wildcard(cron_expr: str) -> bool:
    """Minute or hour field starting with `*`: an interval job, run in real time."""
    minute, hour = cron_expr.split()[:2]
    return minute.startswith("*") or hour.startswith("*")


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first valid instant after the non-existent wall time `wall` (the transition)."""
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)  # offset after the change
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # offset before the change
    low, high = min(low, high), max(low, high)
    offset_before = (low - timedelta(seconds=1)).astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def _instants(wall: datetime, zone: ZoneInfo, both_folds: bool) -> list[datetime]:
    """The real instants (UTC) a wall-clock time in `zone` names under the DST rules."""
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    first_utc = first.astimezone(UTC)
    if first_utc.astimezone(zone).replace(tzinfo=None) != wall:
        return [_gap_end(wall, zone)]  # does not exist: the next valid time
    second_utc = second.astimezone(UTC)
    if second_utc != first_utc and both_folds:
        return [first_utc, second_utc]
    return [first_utc]


def _is_working_day(day: date, days_off: Collection[date]) -> bool:
    """Monday to Friday, and not a day of the calendar."""
    return day.weekday() < 5 and day not in days_off


def _next_working_day(day: date, days_off: Collection[date], limit: date) -> date | None:
    candidate = day + timedelta(days=1)
    while candidate <= limit:
        if _is_working_day(candidate, days_off):
            return candidate
        candidate += timedelta(days=1)
    return None


def next_run(
    schedule: Schedule, after: datetime, *, local_zone: tzinfo | None = None
) -> datetime | None:
    """The first run strictly after `after` (naive local time), as naive local time.

    None when the calendar leaves no run within `HORIZON` of the cron's next time.
    """
    from croniter import croniter  # not at import time: SDK processes never need cron

    if after.tzinfo is not None:
        after = _to_local_naive(after, local_zone)
    if schedule.is_legacy:
        result = croniter(schedule.cron_expr, after).get_next(datetime)
        assert isinstance(result, datetime)
        return result
    zone = ZoneInfo(schedule.time_zone) if schedule.time_zone else None
    both_folds = _is_wildcard(schedule.cron_expr)
    rule = schedule.rule
    days_off = schedule.days_off

    # Without a zone the cron names naive local times, as today: walls are the instants.
    def resolve(wall: datetime, both: bool) -> list[datetime]:
        return [wall] if zone is None else _instants(wall, zone, both)

    def output(instant: datetime) -> datetime:
        return instant if zone is None else _to_local_naive(instant, local_zone)

    after_instant = after if zone is None else _from_local_naive(after, local_zone).astimezone(UTC)

    def acceptable(instant: datetime) -> bool:
        # Strictly later, also as the naive local time the database stores: on a machine
        # whose own clock repeats an hour, a run must never look due again at once.
        return instant > after_instant and output(instant) > after

    after_wall = after if zone is None else after_instant.astimezone(zone).replace(tzinfo=None)
    start = after_wall - _MAX_SHIFT
    if rule == CalendarRule.MOVE:
        # A run on an earlier calendar day may move past `after`: start the search at the
        # first day of the stretch of non-working days (calendar days and weekends) that
        # ends at `after`'s date.
        first_day = start.date()
        stop = first_day - HORIZON
        while first_day > stop and not _is_working_day(first_day - timedelta(days=1), days_off):
            first_day -= timedelta(days=1)
        start = min(start, datetime.combine(first_day, datetime.min.time()) - timedelta(minutes=1))
    iterator = croniter(schedule.cron_expr, start)
    best: datetime | None = None
    best_wall: datetime | None = None
    horizon_end: datetime | None = None
    while True:
        wall = iterator.get_next(datetime)
        assert isinstance(wall, datetime)
        if best_wall is not None and wall > best_wall + _MAX_SHIFT:
            break  # every later wall time is a later instant
        if horizon_end is None and wall > after_wall:
            horizon_end = wall + HORIZON  # from the cron's own next time
        if horizon_end is not None and wall >= horizon_end:
            break
        day = wall.date()
        off = day in days_off or (rule == CalendarRule.WORKING_DAYS and day.weekday() >= 5)
        if off and rule in (CalendarRule.SKIP, CalendarRule.WORKING_DAYS):
            # Nothing runs on this day: jump to its end instead of stepping through it.
            iterator.set_current(datetime.combine(day, datetime.max.time()).replace(microsecond=0))
            continue
        if off and rule == CalendarRule.MOVE:
            limit = (horizon_end or wall + HORIZON).date()
            moved_day = _next_working_day(day, days_off, limit)
            if moved_day is None:
                break  # the calendar leaves no working day within the horizon
            moved = datetime.combine(moved_day, wall.time())
            if horizon_end is not None and moved >= horizon_end:
                break
            candidates = [(moved, instant) for instant in resolve(moved, False)]
            # Later runs of this day move to later times of the same day: one is enough,
            # unless this one is not after `after` (then try the day from after's time).
            if any(acceptable(instant) for _, instant in candidates):
                day_end = datetime.combine(day, datetime.max.time()).replace(microsecond=0)
                iterator.set_current(day_end)
            elif moved.date() == after_wall.date() and after_wall.time() > wall.time():
                later = datetime.combine(day, after_wall.time()) - timedelta(minutes=1)
                if later > wall:
                    iterator.set_current(later)
        else:
            candidates = [(wall, instant) for instant in resolve(wall, both_folds)]
        for candidate_wall, instant in candidates:
            if acceptable(instant) and (best is None or instant < best):
                best, best_wall = instant, candidate_wall
    return None if best is None else output(best)


def next_runs(
    schedule: Schedule,
    after: datetime,
    count: int = 10,
    *,
    local_zone: tzinfo | None = None,
) -> list[datetime]:
    """The next `count` runs after `after` (fewer when the calendar leaves none)."""
    runs: list[datetime] = []
    moment = after
    while len(runs) < count:
        found = next_run(schedule, moment, local_zone=local_zone)
        if found is None:
            break
        runs.append(found)
        moment = found
    return runs


def stored_next_run(
    schedule: Schedule, after: datetime, *, local_zone: tzinfo | None = None
) -> datetime:
    """`next_run` for the NOT NULL column: `NO_NEXT_RUN` when there is none."""
    found = next_run(schedule, after, local_zone=local_zone)
    return NO_NEXT_RUN if found is None else found


def in_zone(moment: datetime, zone_name: str | None) -> datetime:
    """A naive local time shown in another zone (naive again); None: unchanged."""
    if zone_name is None:
        return moment
    return moment.astimezone(ZoneInfo(zone_name)).replace(tzinfo=None)

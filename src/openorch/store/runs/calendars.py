"""Business calendars (named non-working days) and what triggers read from them.

The rules about run times are in `store/runs/schedule.py` (pure); this module reads and writes
the calendars and builds a trigger's `Schedule` inside the caller's transaction, so the
Scheduler's BEGIN, the dialog's preview and the API all compute from the same rows.

When a calendar changes, every IDLE scheduled trigger that follows it gets its `next_run`
recomputed from now in the same transaction: a holiday added today must not let a run
computed yesterday fall on it.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.orm import Session

from openorch.database import (
    Calendar,
    CalendarDay,
    QueueTrigger,
    ScheduledTrigger,
    Trigger,
    TriggerStatus,
)
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput, NotFound
from openorch.store.runs import schedule as sch

_CALENDARS = table_of(Calendar)
_DAYS = table_of(CalendarDay)
_SCHEDULED = table_of(ScheduledTrigger)
_QUEUE = table_of(QueueTrigger)
_TRIGGERS = table_of(Trigger)

#: Holiday fills cover at most this many years at once (the package computes each year).
MAX_FILL_YEARS = 30


@dataclass(frozen=True)
class CalendarSummary:
    """A calendar as the Orchestrator lists it."""

    id: uuid.UUID
    name: str
    country: str | None
    subdivision: str | None
    years: str | None
    day_count: int
    first_day: date | None
    last_day: date | None
    used_by: int


def check_date(field: str, value: Any) -> date:
    """A date, or ISO text (YYYY-MM-DD) naming one.

    Raises:
        BadInput: anything else, with the value quoted.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise BadInput(f"{field} must be a date as YYYY-MM-DD; got {str(value)[:40]!r}.")


def check_hhmm(field: str, value: Any) -> str | None:
    """A time of day as "HH:MM" (24-hour), or None.

    Raises:
        BadInput: anything else.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = time.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is not None and len(text) == 5 and parsed.second == 0:
            return text
    raise BadInput(f"{field} must be a time of day as HH:MM (24-hour); got {str(value)[:40]!r}.")


def days_off(connection: Connection, calendar_id: uuid.UUID | None) -> frozenset[date]:
    """The non-working days of a calendar (empty for None or a calendar that is gone)."""
    if calendar_id is None:
        return frozenset()
    rows = connection.execute(select(_DAYS.c.day).where(_DAYS.c.calendar_id == calendar_id))
    return frozenset(row[0] for row in rows)


def schedule_of(connection: Connection, trigger_id: uuid.UUID) -> sch.Schedule | None:
    """A scheduled trigger's `Schedule` (None: not a scheduled trigger)."""
    row = connection.execute(
        select(
            _SCHEDULED.c.cron_expr,
            _SCHEDULED.c.time_zone,
            _SCHEDULED.c.calendar_id,
            _SCHEDULED.c.calendar_rule,
        ).where(_SCHEDULED.c.id == trigger_id)
    ).first()
    if row is None:
        return None
    return build_schedule(connection, row[0], row[1], row[2], row[3])


def build_schedule(
    connection: Connection,
    cron_expr: str,
    time_zone: str | None,
    calendar_id: uuid.UUID | None,
    calendar_rule: str | None,
) -> sch.Schedule:
    """A `Schedule` from stored (or typed) values. A zone or rule the database holds but
    this version does not know counts as none, so a Scheduler never stops on one row."""
    try:
        zone = sch.check_time_zone(time_zone)
    except BadInput:
        zone = None
    try:
        rule = sch.check_rule(calendar_rule)
    except BadInput:
        rule = None
    off = days_off(connection, calendar_id) if rule is not None else frozenset()
    return sch.Schedule(cron_expr, zone, rule, off)


def reschedule_calendar(connection: Connection, calendar_id: uuid.UUID, now: datetime) -> int:
    """Recompute `next_run` (from now) of every IDLE scheduled trigger following this
    calendar. Returns how many changed."""
    rows = connection.execute(
        select(_SCHEDULED.c.id)
        .join(_TRIGGERS, _TRIGGERS.c.id == _SCHEDULED.c.id)
        .where(
            _SCHEDULED.c.calendar_id == calendar_id,
            _SCHEDULED.c.calendar_rule.is_not(None),
            _TRIGGERS.c.process_status == TriggerStatus.IDLE,
        )
    ).all()
    for (trigger_id,) in rows:
        schedule = schedule_of(connection, trigger_id)
        if schedule is not None:
            connection.execute(
                update(_SCHEDULED)
                .where(_SCHEDULED.c.id == trigger_id)
                .values(next_run=sch.stored_next_run(schedule, now))
            )
    return len(rows)


def queue_window_open(trigger: QueueTrigger, off: frozenset[date], now: datetime) -> bool:
    """True when a queue trigger may start at `now` (naive local time): inside its
    window (in its zone) and, when it has a calendar, on a working day (Mon–Fri not in
    the calendar). A window whose end is before its start crosses midnight."""
    if trigger.window_start is None and trigger.window_end is None and trigger.calendar_id is None:
        return True
    local = now if trigger.time_zone is None else sch.in_zone(now, trigger.time_zone)
    if trigger.calendar_id is not None and (local.weekday() >= 5 or local.date() in off):
        return False
    start = trigger.window_start or "00:00"
    end = trigger.window_end or "24:00"
    clock = local.strftime("%H:%M")
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end


class CalendarStore(StoreCore):
    """Calendars for the Orchestrator and the API; run-time previews."""

    def create_calendar(self, name: str) -> uuid.UUID:
        """Create an empty calendar. Returns its id.

        Raises:
            ValueError: name missing, too long, or taken.
        """
        checked = v.check_text(Calendar, "name", name, nonblank=True)
        assert checked is not None
        key = new_id()

        def work(connection: Connection) -> uuid.UUID:
            taken = connection.execute(
                select(_CALENDARS.c.id).where(_CALENDARS.c.name == checked.strip())
            ).first()
            if taken is not None:
                raise BadInput(f"A calendar named {checked.strip()!r} already exists.")
            connection.execute(
                insert(_CALENDARS).values(
                    id=key, name=checked.strip(), changed_at=datetime.now().replace(microsecond=0)
                )
            )
            return key

        return self._write_core(work)

    def get_calendars(self) -> tuple[CalendarSummary, ...]:
        """Every calendar with its day count, first and last day, and how many triggers
        follow it; sorted by name."""

        def work(session: Session) -> tuple[CalendarSummary, ...]:
            stats = {
                row[0]: (row[1], row[2], row[3])
                for row in session.execute(
                    select(
                        _DAYS.c.calendar_id,
                        func.count(),
                        func.min(_DAYS.c.day),
                        func.max(_DAYS.c.day),
                    ).group_by(_DAYS.c.calendar_id)
                )
            }
            users: dict[uuid.UUID, int] = {}
            for table in (_SCHEDULED, _QUEUE):
                for row in session.execute(
                    select(table.c.calendar_id, func.count())
                    .where(table.c.calendar_id.is_not(None))
                    .group_by(table.c.calendar_id)
                ):
                    users[row[0]] = users.get(row[0], 0) + int(row[1])
            result = []
            for row in session.execute(select(_CALENDARS).order_by(_CALENDARS.c.name)):
                count, first, last = stats.get(row.id, (0, None, None))
                result.append(
                    CalendarSummary(
                        row.id,
                        row.name,
                        row.country,
                        row.subdivision,
                        row.years,
                        int(count),
                        first,
                        last,
                        users.get(row.id, 0),
                    )
                )
            return tuple(result)

        return self._read(work)

    def get_calendar_days(self, calendar_id: uuid.UUID | str) -> tuple[CalendarDay, ...]:
        """A calendar's days, in date order.

        Raises:
            ValueError: bad id, or no such calendar.
        """
        key = self._calendar_key(calendar_id)
        return self._read(
            lambda session: tuple(
                session.scalars(
                    select(CalendarDay)
                    .where(CalendarDay.calendar_id == key)
                    .order_by(CalendarDay.day)
                )
            )
        )

    def add_calendar_days(
        self,
        calendar_id: uuid.UUID | str,
        days: Iterable[date | str],
        description: str | None = None,
        *,
        source: str = "manual",
    ) -> int:
        """Add non-working days (dates or YYYY-MM-DD text). Returns how many were new.

        Every date is checked before anything is written: one bad date changes nothing.

        Raises:
            ValueError: bad id, no such calendar, or a bad date (quoted).
        """
        key = self._calendar_key(calendar_id)
        checked = sorted({check_date("day", day) for day in days})
        text = v.check_text(CalendarDay, "description", description, required=False)
        return self._write_core(
            lambda connection: self._add_days(
                connection, key, {day: text for day in checked}, source
            )
        )

    @staticmethod
    def _add_days(
        connection: Connection,
        key: uuid.UUID,
        days: Mapping[date, str | None],
        source: str,
    ) -> int:
        if (
            connection.execute(select(_CALENDARS.c.id).where(_CALENDARS.c.id == key)).first()
            is None
        ):
            raise NotFound(f"No calendar with id {key} exists.")
        existing = days_off(connection, key)
        new = [
            {"calendar_id": key, "day": day, "description": text, "source": source}
            for day, text in sorted(days.items())
            if day not in existing
        ]
        if new:
            connection.execute(insert(_DAYS), new)
        now = datetime.now().replace(microsecond=0)
        connection.execute(update(_CALENDARS).where(_CALENDARS.c.id == key).values(changed_at=now))
        reschedule_calendar(connection, key, now)
        return len(new)

    def remove_calendar_days(self, calendar_id: uuid.UUID | str, days: Iterable[date | str]) -> int:
        """Remove days from a calendar. Returns how many were there.

        Raises:
            ValueError: bad id, no such calendar, or a bad date.
        """
        key = self._calendar_key(calendar_id)
        checked = sorted({check_date("day", day) for day in days})

        def work(connection: Connection) -> int:
            self._require_calendar(connection, key)
            result = connection.execute(
                delete(_DAYS).where(_DAYS.c.calendar_id == key, _DAYS.c.day.in_(checked))
            )
            now = datetime.now().replace(microsecond=0)
            reschedule_calendar(connection, key, now)
            return int(result.rowcount or 0)

        return self._write_core(work)

    def fill_public_holidays(
        self,
        calendar_id: uuid.UUID | str,
        country: str,
        years: Sequence[int],
        subdivision: str | None = None,
    ) -> int:
        """Add the public holidays of `country` (ISO code such as "DK") and optionally a
        region (`subdivision`, e.g. "BY" for Bavaria) for `years`, from the `holidays`
        package. Returns how many days were new.

        Raises:
            ValueError: unknown country or region, bad years; nothing is written.
        """
        import holidays  # not at import time: only the Orchestrator fills calendars

        key = self._calendar_key(calendar_id)
        code = (country or "").strip().upper() if isinstance(country, str) else ""
        region = (
            (subdivision or "").strip().upper() or None if isinstance(subdivision, str) else None
        )
        if subdivision is not None and not isinstance(subdivision, str):
            raise BadInput("subdivision must be text.")
        year_list = sorted({v.check_int("years", year, minimum=1900) for year in years})
        if not year_list:
            raise BadInput("years is required: at least one year such as 2027.")
        if len(year_list) > MAX_FILL_YEARS or year_list[-1] > 2200:
            raise BadInput(f"years: at most {MAX_FILL_YEARS} years, none after 2200.")
        supported = holidays.list_supported_countries()
        if code not in supported:
            raise BadInput(
                f"country {country!r} is not known to the holidays package "
                "(use an ISO code such as DK, DE, US)."
            )
        if region is not None and region not in supported[code]:
            raise BadInput(
                f"subdivision {subdivision!r} is not a region of {code} "
                f"(known: {', '.join(supported[code][:30]) or 'none'})."
            )
        found = holidays.country_holidays(code, subdiv=region, years=year_list)
        days = {day: str(name)[:200] for day, name in sorted(found.items())}
        years_text = ",".join(str(year) for year in year_list)[:100]

        def work(connection: Connection) -> int:
            count = self._add_days(connection, key, days, "holidays")
            connection.execute(
                update(_CALENDARS)
                .where(_CALENDARS.c.id == key)
                .values(country=code, subdivision=region, years=years_text)
            )
            return count

        return self._write_core(work)

    def delete_calendar(self, calendar_id: uuid.UUID | str) -> None:
        """Delete a calendar and its days.

        Raises:
            ValueError: bad id, no such calendar, or triggers still follow it (named).
        """
        key = self._calendar_key(calendar_id)

        def work(connection: Connection) -> None:
            self._require_calendar(connection, key)
            names = [
                row[0]
                for table in (_SCHEDULED, _QUEUE)
                for row in connection.execute(
                    select(_TRIGGERS.c.trigger_name)
                    .join(table, table.c.id == _TRIGGERS.c.id)
                    .where(table.c.calendar_id == key)
                )
            ]
            if names:
                raise BadInput(
                    "The calendar is in use by trigger(s) "
                    f"{', '.join(sorted(names)[:10])}; choose another calendar for them first."
                )
            connection.execute(delete(_DAYS).where(_DAYS.c.calendar_id == key))
            connection.execute(delete(_CALENDARS).where(_CALENDARS.c.id == key))

        self._write_core(work)

    # --- mixed fleets --------------------------------------------------------------

    def correct_next_runs(self, now: datetime | None = None) -> int:
        """Put right the `next_run` of IDLE scheduled triggers with a zone or calendar
        that is not one of their run times: the original OpenOrchestrator's Scheduler
        recomputes `next_run` from the cron alone, in its own local time, after it begins
        such a trigger. Every openorch Scheduler calls this before it looks for due
        triggers, so the wrong time is replaced before it comes due. Returns how many
        changed (docs/migrating.md, "Mixed fleets").

        Each change is a conditional UPDATE on the value read, so it never overwrites a
        BEGIN or an admin's edit made meanwhile.
        """
        moment = now or datetime.now()

        def work(connection: Connection) -> int:
            rows = connection.execute(
                select(_SCHEDULED.c.id, _SCHEDULED.c.next_run, _TRIGGERS.c.last_run)
                .join(_TRIGGERS, _TRIGGERS.c.id == _SCHEDULED.c.id)
                .where(
                    _TRIGGERS.c.process_status == TriggerStatus.IDLE,
                    (_SCHEDULED.c.time_zone.is_not(None))
                    | (_SCHEDULED.c.calendar_rule.is_not(None)),
                )
            ).all()
            changed = 0
            for trigger_id, stored, last_run in rows:
                if stored is None or stored >= sch.NO_NEXT_RUN:
                    continue
                schedule = schedule_of(connection, trigger_id)
                if schedule is None or schedule.is_legacy:
                    continue
                if sch.next_run(schedule, stored - timedelta(seconds=1)) == stored:
                    continue  # one of its run times: openorch's own (or an admin's)
                after = max(last_run or moment, moment - timedelta(minutes=5))
                result = connection.execute(
                    update(_SCHEDULED)
                    .where(_SCHEDULED.c.id == trigger_id, _SCHEDULED.c.next_run == stored)
                    .values(next_run=sch.stored_next_run(schedule, after))
                )
                changed += int(result.rowcount or 0)
            return changed

        return self._write_core(work)

    # --- run-time previews --------------------------------------------------------

    def preview_next_runs(
        self,
        cron_expr: str,
        time_zone: str | None = None,
        calendar_id: uuid.UUID | str | None = None,
        calendar_rule: str | sch.CalendarRule | None = None,
        count: int = 10,
        after: datetime | None = None,
    ) -> list[datetime]:
        """The next `count` runs (naive local time) of a rule as typed, before saving.

        Raises:
            ValueError: bad cron, zone, rule or calendar (each message names the field).
        """
        cron = v.check_cron(cron_expr)
        zone = sch.check_time_zone(time_zone)
        rule = sch.check_rule(calendar_rule)
        key = None if calendar_id in (None, "") else self._calendar_key(calendar_id)
        number = v.check_int("count", count, minimum=1)
        if number > 100:
            raise BadInput("count must be at most 100.")

        def work(session: Session) -> sch.Schedule:
            connection = session.connection()
            if key is not None:
                self._require_calendar(connection, key)
            off = days_off(connection, key) if rule is not None else frozenset()
            return sch.Schedule(cron, zone, rule, off)

        schedule = self._read(work)
        return sch.next_runs(schedule, after or datetime.now(), number)

    def get_trigger_next_runs(
        self, trigger_id: uuid.UUID | str, count: int = 10, after: datetime | None = None
    ) -> list[datetime]:
        """The next `count` runs of a saved trigger (naive local time): a single
        trigger's one run, nothing for a queue trigger.

        Raises:
            ValueError: bad id or count, or no such trigger.
        """
        key = v.check_uuid("trigger_id", trigger_id)
        number = v.check_int("count", count, minimum=1)
        if number > 100:
            raise BadInput("count must be at most 100.")

        def work(session: Session) -> tuple[Trigger | None, sch.Schedule | None]:
            trigger = session.get(Trigger, key)
            return trigger, schedule_of(session.connection(), key)

        trigger, schedule = self._read(work)
        if trigger is None:
            raise NotFound(f"No trigger with id {key} exists.")
        moment = after or datetime.now()
        if schedule is not None and isinstance(trigger, ScheduledTrigger):
            # The stored next run first (it may be due now), then the rule's.
            first = trigger.next_run
            if first >= sch.NO_NEXT_RUN:
                return []
            return [first, *sch.next_runs(schedule, max(first, moment), number - 1)]
        next_run = getattr(trigger, "next_run", None)
        return [] if next_run is None else [next_run]

    # --- helpers ------------------------------------------------------------------

    @staticmethod
    def _calendar_key(calendar_id: Any) -> uuid.UUID:
        return v.check_uuid("calendar_id", calendar_id)

    @staticmethod
    def _require_calendar(connection: Connection, key: uuid.UUID) -> None:
        if (
            connection.execute(select(_CALENDARS.c.id).where(_CALENDARS.c.id == key)).first()
            is None
        ):
            raise NotFound(f"No calendar with id {key} exists.")

"""The figures of the Orchestrator's Overview page, from a few aggregate queries.

Each query reads a range of one index (see the `0d18a1e5c001` migration), so its cost
grows with the rows inside the window it looks at (the last 7 days of jobs, the NEW
elements of the queues, the elements done in the last 24 hours), not with the size of
the tables: the page stays quick on a database holding millions of jobs, logs and queue
elements.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, cast, func, literal_column, select
from sqlalchemy.orm import Session

from openorch.database import (
    Alert,
    Job,
    JobStatus,
    Log,
    LogLevel,
    QueueElement,
    QueueStatus,
    Trigger,
)
from openorch.store.queues.claim import oldest_new_created
from openorch.store.queues.counts import QueueCountStore
from openorch.store.runs.schedulers import SchedulerHealth, scheduler_health


@dataclass
class QueueFigures:
    """One queue on the Overview: backlog, its oldest NEW element, recent throughput."""

    queue_name: str
    new: int = 0
    in_progress: int = 0
    oldest_new: datetime | None = None
    done_24h: int = 0
    failed_24h: int = 0


@dataclass
class RunningJobFigures:
    """A job running now (what a Scheduler is doing)."""

    job_id: str
    process_name: str
    scheduler_name: str
    start_time: datetime


@dataclass
class OpenAlertFigures:
    """An alert not closed yet: which rule fired, about what, and when."""

    alert_id: str
    rule: str
    subject: str
    opened_at: datetime


@dataclass
class OverviewFigures:
    """Everything the Overview page shows, read at `now`."""

    now: datetime
    #: Jobs started in the last 24 hours / 7 days, by status.
    jobs_24h: dict[JobStatus, int] = field(default_factory=dict)
    jobs_7d: dict[JobStatus, int] = field(default_factory=dict)
    #: Jobs started per day of the last 7 days (oldest first), by status.
    jobs_per_day: list[tuple[date, dict[JobStatus, int]]] = field(default_factory=list)
    #: Failed jobs of the last 7 days per process, most first.
    failures_by_process: list[tuple[str, int]] = field(default_factory=list)
    #: ERROR log lines of the last 24 hours.
    errors_24h: int = 0
    queues: list[QueueFigures] = field(default_factory=list)
    #: Every Scheduler judged by the data layer's one liveness rule.
    schedulers: list[SchedulerHealth] = field(default_factory=list)
    running: list[RunningJobFigures] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)
    #: Alerts not closed yet, and the newest few of them (newest first).
    open_alerts: int = 0
    newest_open_alerts: list[OpenAlertFigures] = field(default_factory=list)


def _day(dialect: str, column: Any) -> Any:
    """A datetime column truncated to its day, per backend."""
    if dialect == "sqlite":
        return func.date(column)
    return cast(column, Date)


def _recent(dialect: str, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """A "since" condition, marked as selecting few rows.

    Without histograms SQLite guesses that a range keeps a quarter of the table, and then
    prefers walking a status index in GROUP BY order over the million rows to reading the
    small time window: `likelihood()` tells it a recent window is a small part of a long
    history (measured: 2.7 s → 9 ms on a million queue elements). PostgreSQL's statistics
    need no hint.
    """
    if dialect == "sqlite":
        return func.likelihood(condition, literal_column("0.01"))
    return condition


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


class OverviewStore(QueueCountStore):
    """The Overview page's aggregate reads."""

    def get_overview(
        self, now: datetime | None = None, *, failures_limit: int = 10, alerts_limit: int = 5
    ) -> OverviewFigures:
        """Every Overview figure at `now` (default: now), in one read transaction."""
        moment = now or datetime.now()
        day_ago = moment - timedelta(hours=24)
        first_day = (moment - timedelta(days=6)).replace(hour=0, minute=0, second=0, microsecond=0)
        week_ago = min(first_day, moment - timedelta(days=7))
        dialect = self.dialect
        backlog = self._maintained_queue_counts()

        def work(session: Session) -> OverviewFigures:
            figures = OverviewFigures(now=moment)
            # Jobs per day and status over the week; the 24 h figure needs its own count
            # because "the last 24 hours" does not start at midnight.
            day = _day(dialect, Job.start_time)
            per_day: dict[date, dict[JobStatus, int]] = {
                (first_day + timedelta(days=offset)).date(): {} for offset in range(7)
            }
            rows = session.execute(
                select(day, Job.status, func.count())
                .where(_recent(dialect, Job.start_time >= week_ago))
                .group_by(day, Job.status)
            ).all()
            for raw_day, status, count in rows:
                figures.jobs_7d[status] = figures.jobs_7d.get(status, 0) + int(count)
                key = _as_date(raw_day)
                if key in per_day:
                    per_day[key][status] = per_day[key].get(status, 0) + int(count)
            figures.jobs_per_day = sorted(per_day.items())
            for status, count in session.execute(
                select(Job.status, func.count())
                .where(_recent(dialect, Job.start_time >= day_ago))
                .group_by(Job.status)
            ).all():
                figures.jobs_24h[status] = int(count)
            figures.failures_by_process = [
                (str(name), int(count))
                for name, count in session.execute(
                    select(Job.process_name, func.count().label("failures"))
                    .where(
                        _recent(dialect, Job.start_time >= week_ago), Job.status == JobStatus.FAILED
                    )
                    .group_by(Job.process_name)
                    .order_by(func.count().desc(), Job.process_name)
                    .limit(failures_limit)
                ).all()
            ]
            figures.errors_24h = int(
                session.execute(
                    select(func.count())
                    .select_from(Log)
                    .where(
                        Log.log_level == LogLevel.ERROR, _recent(dialect, Log.log_time >= day_ago)
                    )
                ).scalar_one()
            )
            figures.queues = _queue_figures(session, dialect, day_ago, backlog)
            figures.schedulers = list(scheduler_health(session))
            # Sorted here: an ORDER BY start_time makes SQLite walk the start_time index
            # over every job instead of reading the few RUNNING ones.
            figures.running = sorted(
                (
                    RunningJobFigures(str(job_id), process, scheduler, start)
                    for job_id, process, scheduler, start in session.execute(
                        select(Job.id, Job.process_name, Job.scheduler_name, Job.start_time).where(
                            Job.status == JobStatus.RUNNING
                        )
                    ).all()
                ),
                key=lambda job: job.start_time,
            )
            figures.triggers = list(
                session.scalars(select(Trigger).order_by(Trigger.trigger_name)).all()
            )
            figures.open_alerts, figures.newest_open_alerts = _open_alerts(
                session, dialect, alerts_limit
            )
            return figures

        return self._read(work)


def _open_alerts(session: Session, dialect: str, limit: int) -> tuple[int, list[OpenAlertFigures]]:
    """How many alerts are open, and the newest `limit` of them.

    Both read the open range (closed_at IS NULL) of the Alerts(closed_at, rule) index,
    which holds the few open alerts however long the history grows; the hint keeps
    SQLite from walking the opened_at index backwards through every closed alert.
    """
    is_open = _recent(dialect, Alert.closed_at.is_(None))
    count = int(
        session.execute(select(func.count()).select_from(Alert).where(is_open)).scalar_one()
    )
    newest = [
        OpenAlertFigures(str(alert_id), str(rule), str(subject), opened_at)
        for alert_id, rule, subject, opened_at in session.execute(
            select(Alert.id, Alert.rule, Alert.subject, Alert.opened_at)
            .where(is_open)
            .order_by(Alert.opened_at.desc(), Alert.id)
            .limit(limit)
        ).all()
    ]
    return count, newest


def _queue_figures(
    session: Session,
    dialect: str,
    day_ago: datetime,
    backlog: dict[str, dict[QueueStatus, int]] | None = None,
) -> list[QueueFigures]:
    """Backlog (NEW, IN_PROGRESS), oldest NEW and the last 24 h's DONE/FAILED per queue.

    Only queues with a backlog or recent activity appear: listing every queue name would
    read the whole table. `backlog`: the maintained counts (store/queues/counts.py), when
    the database keeps them; then the oldest NEW element is one index seek per queue
    instead of reading every NEW element's index entry.
    """
    queues: dict[str, QueueFigures] = {}

    def get(name: str) -> QueueFigures:
        return queues.setdefault(name, QueueFigures(name))

    if backlog is not None:
        for name, per_status in backlog.items():
            new, in_progress = per_status[QueueStatus.NEW], per_status[QueueStatus.IN_PROGRESS]
            if not new and not in_progress:
                continue
            figures = get(name)
            figures.new, figures.in_progress = new, in_progress
            if new:
                figures.oldest_new = session.scalar(
                    select(oldest_new_created(name, session.get_bind().dialect.name))
                )
    else:
        for name, status, count, oldest in session.execute(
            select(
                QueueElement.queue_name,
                QueueElement.status,
                func.count(),
                func.min(QueueElement.created_date),
            )
            .where(QueueElement.status.in_([QueueStatus.NEW, QueueStatus.IN_PROGRESS]))
            .group_by(QueueElement.status, QueueElement.queue_name)
        ).all():
            figures = get(str(name))
            if status == QueueStatus.NEW:
                figures.new = int(count)
                figures.oldest_new = oldest
            else:
                figures.in_progress = int(count)
    for name, status, count in session.execute(
        select(QueueElement.queue_name, QueueElement.status, func.count())
        .where(
            QueueElement.status.in_([QueueStatus.DONE, QueueStatus.FAILED]),
            _recent(dialect, QueueElement.end_date >= day_ago),
        )
        .group_by(QueueElement.status, QueueElement.queue_name)
    ).all():
        figures = get(str(name))
        if status == QueueStatus.DONE:
            figures.done_24h = int(count)
        else:
            figures.failed_24h = int(count)
    return sorted(queues.values(), key=lambda queue: queue.queue_name)

"""The figures behind the API's Prometheus endpoint (`GET /metrics`), in one read.

Each figure is one aggregate query (GROUP BY) so a scrape costs a handful of statements
whatever the fleet does; the API turns them into Prometheus families
(`api/routes/metrics.py`). Ages are measured by the database's clock, as the Schedulers'
liveness is, so no machine's clock decides.

Cost: the job figures cover the jobs that ended in the last `JOB_WINDOW` (a range of the
Jobs(status, end_time) index) and the RUNNING ones: an all-time count would read every
job at every scrape (measured: 2 s on SQLite at 1,000,000 jobs). The per-status queue
counts come from the maintained counts (store/queues/counts.py; the whole (status, queue,
created) index on a database without them); the oldest-NEW ages, open alerts
and Schedulers read small ranges.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Float, case, cast, exc, func, literal_column, select
from sqlalchemy.orm import Session

from openorch.database import Alert, Job, JobStatus, QueueElement, QueueStatus
from openorch.store.ops.retention_policy import PruneTotals, prune_totals
from openorch.store.queues.claim import oldest_new_created
from openorch.store.queues.counts import QueueCountStore, read_claims
from openorch.store.queues.review import open_items_by_queue
from openorch.store.queues.search import SearchStore, backlog
from openorch.store.runs import state
from openorch.store.runs.counters import DURATION_BUCKETS as DURATION_BUCKETS
from openorch.store.runs.counters import (
    CounterFigures,
    read_job_counters,
    seconds_between,
)
from openorch.store.runs.schedulers import scheduler_health

log = logging.getLogger(__name__)

#: The job figures cover jobs that ended this recently (and the RUNNING ones).
JOB_WINDOW = timedelta(hours=24)


@dataclass
class DurationFigures:
    """One process's finished jobs: how many, their total seconds, and per bucket bound
    how many took at most that long (cumulative, as Prometheus wants)."""

    count: int = 0
    total_seconds: float = 0.0
    at_most: list[int] = field(default_factory=list)


@dataclass
class MetricFigures:
    """Everything `/metrics` reports, read at one moment."""

    #: (queue, status name) -> elements.
    queue_elements: dict[tuple[str, str], int] = field(default_factory=dict)
    #: queue -> seconds since its oldest NEW element was created (queues with NEW only).
    oldest_new_age: dict[str, float] = field(default_factory=dict)
    #: (process, status name) -> jobs that ended within JOB_WINDOW.
    jobs: dict[tuple[str, str], int] = field(default_factory=dict)
    #: process -> jobs RUNNING now.
    running: dict[str, int] = field(default_factory=dict)
    #: process -> durations of its jobs that ended within JOB_WINDOW.
    durations: dict[str, DurationFigures] = field(default_factory=dict)
    #: scheduler name -> (alive, seconds since its last heartbeat or None).
    schedulers: dict[str, tuple[bool, float | None]] = field(default_factory=dict)
    #: rule -> alerts open now.
    open_alerts: dict[str, int] = field(default_factory=dict)
    #: (process, status name) -> all-time job figures (`store/runs/counters.py`).
    job_counters: dict[tuple[str, str], CounterFigures] = field(default_factory=dict)
    #: Real prune runs and rows they deleted, all time (None: tables not there yet).
    prune: PruneTotals | None = None
    #: Seconds since the newest prune run finished (None: none yet).
    prune_age: float | None = None
    #: queue -> items open in the review inbox (queues with open items only).
    review_open: dict[str, int] = field(default_factory=dict)
    #: queue -> seconds since its oldest open review item was made.
    review_oldest_age: dict[str, float] = field(default_factory=dict)
    #: Elements waiting for the search indexer, up to PENDING_LIMIT + 1 (None: no index).
    search_waiting: int | None = None
    #: queue -> claims since the count triggers began counting them (None: no counts).
    claims: dict[str, int] | None = None


ENDED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.KILLED)


def _few(dialect: str, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Tell SQLite a recent window (or the RUNNING jobs) is a small part of a long
    history (see `overview._recent`), so it reads that index range; PostgreSQL knows."""
    if dialect == "sqlite":
        return func.likelihood(condition, literal_column("0.01"))
    return condition


#: Queues per statement when the oldest NEW element is probed queue by queue.
PROBES_PER_STATEMENT = 100


def _oldest_new(
    session: Session, maintained: dict[str, dict[QueueStatus, int]] | None
) -> list[tuple[str, datetime | None]]:
    """Each queue's oldest NEW element's created_date.

    With the maintained counts the queues holding NEW elements are known, so each gets
    one index probe (`oldest_new_created`: a single seek on the (queue_name, status,
    created_date) index on every backend), many probes to a statement: the cost is the number
    of queues, not of NEW elements. A GROUP BY over every NEW element read 100,000 index
    entries at 10,000,000 elements (34 ms on PostgreSQL). A queue that gains its first
    NEW element between the counts' read and this one shows its age from the next scrape.
    Without the maintained counts: that GROUP BY."""
    if maintained is None:
        rows = session.execute(
            select(QueueElement.queue_name, func.min(QueueElement.created_date))
            .where(QueueElement.status == QueueStatus.NEW)
            .group_by(QueueElement.queue_name)
        ).all()
        return [(str(queue), oldest) for queue, oldest in rows]
    queues = [queue for queue, counts in maintained.items() if counts.get(QueueStatus.NEW)]
    dialect = session.get_bind().dialect.name
    found: list[tuple[str, datetime | None]] = []
    for start in range(0, len(queues), PROBES_PER_STATEMENT):
        chunk = queues[start : start + PROBES_PER_STATEMENT]
        probes = [
            oldest_new_created(queue, dialect).label(f"q{index}")
            for index, queue in enumerate(chunk)
        ]
        found.extend(zip(chunk, session.execute(select(*probes)).one(), strict=True))
    return found


class MetricsStore(QueueCountStore, SearchStore):
    """Read-only aggregate figures for monitoring."""

    def get_metric_figures(self, heartbeat_timeout: float) -> MetricFigures:
        """Every figure `/metrics` shows, in one read transaction."""
        dialect = self.dialect
        # The maintained counts (store/queues/counts.py) where the database keeps them.
        maintained = self._maintained_queue_counts()
        indexed = self.indexes_in_background()

        def work(session: Session) -> MetricFigures:
            figures = MetricFigures()
            now = state.database_now(session.connection())
            if maintained is not None:
                for queue, per_status in maintained.items():
                    for element_status, count in per_status.items():
                        if count:
                            figures.queue_elements[(queue, element_status.name)] = count
            else:
                for queue, element_status, count in session.execute(
                    select(QueueElement.queue_name, QueueElement.status, func.count()).group_by(
                        QueueElement.queue_name, QueueElement.status
                    )
                ).all():
                    figures.queue_elements[(str(queue), element_status.name)] = int(count)
            if maintained is not None:
                figures.claims = read_claims(session.connection())
            for queue, oldest in _oldest_new(session, maintained):
                if oldest is not None:
                    figures.oldest_new_age[str(queue)] = max(0.0, (now - oldest).total_seconds())
            ended = Job.status.in_(ENDED) & _few(dialect, Job.end_time >= now - JOB_WINDOW)
            for process, job_status, count in session.execute(
                select(Job.process_name, Job.status, func.count())
                .where(ended)
                .group_by(Job.process_name, Job.status)
            ).all():
                figures.jobs[(str(process), job_status.name)] = int(count)
            # Marked few too: told only that jobs have a handful of statuses, SQLite
            # walked a covering index over every job to group RUNNING ones without a
            # sort (91 ms of a 98 ms scrape at 1,000,000 jobs; 0.1 ms as a search).
            for process, count in session.execute(
                select(Job.process_name, func.count())
                .where(_few(dialect, Job.status == JobStatus.RUNNING))
                .group_by(Job.process_name)
            ).all():
                figures.running[str(process)] = int(count)
            seconds = cast(seconds_between(dialect, Job.start_time, Job.end_time), Float)
            buckets = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in DURATION_BUCKETS]
            for process, count, total, *at_most in session.execute(
                select(Job.process_name, func.count(), func.sum(seconds), *buckets)
                .where(ended)
                .group_by(Job.process_name)
            ).all():
                figures.durations[str(process)] = DurationFigures(
                    int(count), float(total or 0.0), [int(value or 0) for value in at_most]
                )
            for health in scheduler_health(session, heartbeat_timeout):
                figures.schedulers[health.scheduler.machine_name] = (
                    health.alive,
                    health.silent_for,
                )
            for rule, count in session.execute(
                select(Alert.rule, func.count())
                .where(Alert.closed_at.is_(None))
                .group_by(Alert.rule)
            ).all():
                figures.open_alerts[str(rule)] = int(count)
            if indexed:
                figures.search_waiting = backlog(session.connection())
            # Last: on a database not upgraded to these tables the statement fails, and on
            # PostgreSQL a failed statement ends the transaction.
            try:
                # Open items only (a range of the (state, created_date) index, a human
                # inbox's size), counted as the Overview and the alert rule count them.
                for queue, (count, oldest) in open_items_by_queue(session.connection()).items():
                    figures.review_open[queue] = count
                    figures.review_oldest_age[queue] = max(0.0, (now - oldest).total_seconds())
                figures.job_counters = read_job_counters(session)
                figures.prune = prune_totals(session)
            except (exc.ProgrammingError, exc.OperationalError) as error:
                # Said, not swallowed: the same error may be a lock timeout, not a schema.
                log.warning(
                    "/metrics left out the review backlog, job counters and prune figures: "
                    "%s (if the database is older than this openorch, run openorch upgrade)",
                    error.orig,
                )
                return figures
            if figures.prune.last_finished is not None:
                figures.prune_age = max(0.0, (now - figures.prune.last_finished).total_seconds())
            return figures

        return self._read(work)

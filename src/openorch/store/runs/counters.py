"""All-time job counters for `/metrics` (issue 29): jobs by process and outcome, their
run time and a duration histogram, kept in `Job_Counters` so a scrape reads a few rows
instead of every job.

The fleet's one watchdog (the Scheduler holding the lease) folds in, at each tick, the
jobs that ended since the watermark in `Ops_State`, up to FOLD_MARGIN before now: one
short write transaction that reads a small range of the Jobs(status, end_time) index.
The counters start at zero when the first watchdog folds (on an upgraded database: the
jobs that end from then on), as a Prometheus counter starts at a process's start;
`rate()` and `increase()` are what to read from them. A job stamped ended more than
FOLD_MARGIN in the past at the moment it is written (a Scheduler whose clock is that far
behind: the `scheduler_clock` alert rule) is not counted.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.orm import Session

from openorch.database import Job, JobCounter, JobStatus, OpsState
from openorch.store.core import StoreCore
from openorch.store.runs import state

#: Jobs that ended this recently are folded at a later tick (their rows may still be
#: being written by robots whose clocks run a little behind the database's).
FOLD_MARGIN = timedelta(minutes=2)

#: The `Ops_State` row holding the end time up to which jobs are counted.
WATERMARK = "job_counters.counted_to"

#: Upper bounds (seconds) of the job-duration histogram's buckets; +Inf is implied.
DURATION_BUCKETS: tuple[float, ...] = (1, 5, 15, 60, 300, 900, 3600, 14400)

ENDED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.KILLED)


def seconds_between(dialect: str, start: Any, end: Any) -> Any:
    """end - start in seconds, as SQL for each database."""
    if dialect == "postgresql":
        return func.extract("epoch", end - start)
    if dialect == "mssql":
        from sqlalchemy import literal_column

        return func.datediff_big(literal_column("millisecond"), start, end) / 1000.0
    return (func.julianday(end) - func.julianday(start)) * 86400.0


@dataclass
class CounterFigures:
    """One (process, status)'s all-time figures: jobs, total seconds, and per bucket
    bound how many took at most that long (cumulative, as Prometheus wants)."""

    jobs: int = 0
    seconds_total: float = 0.0
    at_most: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))


def read_job_counters(session: Session) -> dict[tuple[str, str], CounterFigures]:
    """{(process, status name): figures} as stored."""
    counters = {}
    for row in session.scalars(select(JobCounter)):
        at_most = [int(value) for value in json.loads(row.buckets)]
        counters[(row.process_name, row.status)] = CounterFigures(
            int(row.jobs), float(row.seconds_total), at_most
        )
    return counters


class JobCounterStore(StoreCore):
    """Folding ended jobs into the counters (the watchdog's) and reading them."""

    def fold_job_counters(self) -> int:
        """Add the jobs that ended since the watermark (up to FOLD_MARGIN ago) to the
        counters, in one short transaction; returns how many jobs were added. The first
        call only sets the watermark (the counters start at zero then)."""
        dialect = self.dialect

        def work(session: Session) -> int:
            now = state.database_now(session.connection())
            upper = now - FOLD_MARGIN
            mark = session.get(OpsState, WATERMARK)
            if mark is None:
                session.add(OpsState(name=WATERMARK, value=upper.isoformat(), changed_at=now))
                return 0
            lower = datetime.fromisoformat(mark.value)
            if upper <= lower:
                return 0
            seconds = cast(seconds_between(dialect, Job.start_time, Job.end_time), Float)
            buckets = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in DURATION_BUCKETS]
            rows = session.execute(
                select(Job.process_name, Job.status, func.count(), func.sum(seconds), *buckets)
                .where(Job.status.in_(ENDED) & (Job.end_time > lower) & (Job.end_time <= upper))
                .group_by(Job.process_name, Job.status)
            ).all()
            added = 0
            for process, job_status, count, total, *at_most in rows:
                key = (str(process), job_status.name)
                counter = session.get(JobCounter, key)
                if counter is None:
                    counter = JobCounter(
                        process_name=key[0],
                        status=key[1],
                        jobs=0,
                        seconds_total=0.0,
                        buckets=json.dumps([0] * len(DURATION_BUCKETS)),
                    )
                    session.add(counter)
                counter.jobs += int(count)
                counter.seconds_total += max(0.0, float(total or 0.0))
                old = [int(value) for value in json.loads(counter.buckets)]
                counter.buckets = json.dumps(
                    [a + int(b or 0) for a, b in zip(old, at_most, strict=True)]
                )
                added += int(count)
            mark.value = upper.isoformat()
            mark.changed_at = now
            return added

        return self._write(work)

    def get_job_counters(self) -> dict[tuple[str, str], CounterFigures]:
        """{(process, status name): all-time figures}."""
        return self._read(read_job_counters)

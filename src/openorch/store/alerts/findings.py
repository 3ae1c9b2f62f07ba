"""The reads behind the alert rules: what went wrong, in few indexed queries.

The watchdog runs these every ~30 s against a database that may hold a million jobs and
queue elements, so each one reads an index range (recent ends, overdue times, one
seek per queue), never a whole table.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from openorch.database import (
    Alert,
    Job,
    JobStatus,
    Log,
    LogLevel,
    QueueElement,
    QueueStatus,
    ScheduledTrigger,
    SingleTrigger,
    Trigger,
    TriggerStatus,
)
from openorch.store.core import StoreCore
from openorch.store.queues.claim import oldest_new_created

#: At most this many ended jobs are examined per evaluation (the rest wait for the next).
JOB_BATCH = 500


@dataclass
class EndedJob:
    """A job that ended FAILED or KILLED, with what the Scheduler logged about it."""

    id: uuid.UUID
    process_name: str
    scheduler_name: str
    status: JobStatus
    start_time: datetime
    end_time: datetime | None
    trigger_id: uuid.UUID | None
    trigger_name: str | None
    #: The trigger's status now (None: no trigger, or deleted).
    trigger_status: TriggerStatus | None = None
    #: What the process reported about its run (SDK report_failure), if anything.
    outcome_message: str | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class OverdueTrigger:
    """A single or scheduled trigger whose time passed without it starting."""

    id: uuid.UUID
    trigger_name: str
    process_name: str
    status: TriggerStatus
    next_run: datetime
    last_run: datetime | None


class AlertFindingStore(StoreCore):
    """What the watchdog's rules read."""

    def get_badly_ended_jobs(
        self, since: datetime, statuses: tuple[JobStatus, ...], skip_rules: tuple[str, ...]
    ) -> list[EndedJob]:
        """Jobs that ended in one of `statuses` at or after `since` and have no alert of
        `skip_rules` yet, oldest first, with the ERROR logs written about each."""

        def work(session: Session) -> list[EndedJob]:
            rows = session.execute(
                select(Job, Trigger.trigger_name, Trigger.process_status)
                .outerjoin(Trigger, Trigger.id == Job.trigger_id)
                .where(Job.status.in_(statuses), Job.end_time >= since)
                .order_by(Job.end_time)
                .limit(JOB_BATCH)
            ).all()
            if not rows:
                return []
            subjects = [str(row[0].id) for row in rows]
            alerted = set(
                session.scalars(
                    select(Alert.subject).where(
                        Alert.subject.in_(subjects), Alert.rule.in_(skip_rules)
                    )
                )
            )
            ended = [
                EndedJob(
                    id=job.id,
                    process_name=job.process_name,
                    scheduler_name=job.scheduler_name,
                    status=job.status,
                    start_time=job.start_time,
                    end_time=job.end_time,
                    trigger_id=job.trigger_id,
                    trigger_name=name,
                    trigger_status=status,
                    outcome_message=job.outcome_message,
                )
                for job, name, status in rows
                if str(job.id) not in alerted
            ]
            if ended:
                by_id = {job.id: job for job in ended}
                logs = session.execute(
                    select(Log.job_id, Log.log_message)
                    .where(Log.job_id.in_(list(by_id)), Log.log_level == LogLevel.ERROR)
                    .order_by(Log.log_time)
                )
                for job_id, message in logs:
                    if job_id in by_id:
                        by_id[job_id].errors.append(message)
            return ended

        return self._read(work)

    def get_job_trigger_statuses(
        self, job_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, TriggerStatus | None]:
        """For each job, its trigger's status now (None: no trigger, or deleted)."""
        if not job_ids:
            return {}

        def work(session: Session) -> dict[uuid.UUID, TriggerStatus | None]:
            found: dict[uuid.UUID, TriggerStatus | None] = dict.fromkeys(job_ids)
            for start in range(0, len(job_ids), 500):
                rows = session.execute(
                    select(Job.id, Trigger.process_status)
                    .outerjoin(Trigger, Trigger.id == Job.trigger_id)
                    .where(Job.id.in_(job_ids[start : start + 500]))
                )
                for job_id, status in rows:
                    found[job_id] = status
            return found

        return self._read(work)

    def get_overdue_triggers(self, cutoff: datetime) -> list[OverdueTrigger]:
        """Single and scheduled triggers due before `cutoff` that have not started since,
        whatever their status (paused and failed ones too)."""

        def overdue(model: Any) -> list[OverdueTrigger]:
            def work(session: Session) -> list[OverdueTrigger]:
                rows = session.scalars(
                    select(model).where(
                        model.next_run < cutoff,
                        or_(model.last_run.is_(None), model.last_run < model.next_run),
                    )
                )
                return [
                    OverdueTrigger(
                        id=row.id,
                        trigger_name=row.trigger_name,
                        process_name=row.process_name,
                        status=row.process_status,
                        next_run=row.next_run,
                        last_run=row.last_run,
                    )
                    for row in rows
                ]

            return self._read(work)

        return overdue(SingleTrigger) + overdue(ScheduledTrigger)

    def get_stopped_triggers(self) -> list[Trigger]:
        """Triggers in FAILED status: they will not run again until reset."""
        return self._read(
            lambda session: list(
                session.scalars(
                    select(Trigger).where(Trigger.process_status == TriggerStatus.FAILED)
                )
            )
        )

    def get_queue_names(self) -> list[str]:
        """Every queue name, read by skipping through the queue-name index (one seek per
        queue, not one row per element) where the database supports it."""
        if self.dialect == "mssql":
            statement = select(QueueElement.queue_name).distinct()
            return self._read(lambda session: sorted(session.scalars(statement)))
        queues = QueueElement.__table__
        names = select(func.min(queues.c.queue_name).label("name")).cte("names", recursive=True)
        following = (
            select(func.min(queues.c.queue_name))
            .where(queues.c.queue_name > names.c.name)
            .scalar_subquery()
        )
        names = names.union_all(select(following).where(names.c.name.is_not(None)))
        statement = select(names.c.name).where(names.c.name.is_not(None))
        return self._read(lambda session: [str(name) for name in session.scalars(statement)])

    def get_oldest_new_elements(self, queue_names: list[str]) -> dict[str, datetime]:
        """For each queue holding NEW elements, the creation time of its oldest one (one
        index seek per queue)."""
        if not queue_names:
            return {}
        parts: list[Any] = [
            select(
                literal_column(f"'{index}'").label("position"),
                oldest_new_created(name, self.dialect).label("oldest"),
            )
            for index, name in enumerate(queue_names)
        ]

        def work(session: Session) -> dict[str, datetime]:
            found: dict[str, datetime] = {}
            for start in range(0, len(parts), 50):
                chunk = parts[start : start + 50]
                statement: Any = chunk[0] if len(chunk) == 1 else union_all(*chunk)
                rows: Any = session.execute(statement)
                for position, oldest in rows:
                    if oldest is not None:
                        found[queue_names[int(position)]] = oldest
            return found

        return self._read(work)

    def get_queues_past_deadline(self, now: datetime) -> dict[str, tuple[int, datetime | None]]:
        """Per queue, the NEW or IN_PROGRESS elements whose deadline is before `now`:
        their number and the earliest deadline (an index range on (status, deadline))."""
        statement = (
            select(QueueElement.queue_name, func.count(), func.min(QueueElement.deadline))
            .where(
                QueueElement.status.in_([QueueStatus.NEW, QueueStatus.IN_PROGRESS]),
                QueueElement.deadline.is_not(None),
                QueueElement.deadline < now,
            )
            .group_by(QueueElement.queue_name)
        )
        return self._read(
            lambda session: {
                str(name): (int(count), earliest)
                for name, count, earliest in session.execute(statement)
            }
        )

    def get_recent_queue_failures(self, since: datetime) -> dict[str, int]:
        """Per queue, the elements that became FAILED or ABANDONED since `since`."""
        recent: Any = QueueElement.end_date >= since
        if self.dialect == "sqlite":
            # SQLite's planner otherwise prefers a skip scan of (queue_name, status, …)
            # that reads every failed element ever (300x slower at a million elements).
            recent = func.likelihood(recent, literal_column("0.001"))
        statement = (
            select(QueueElement.queue_name, func.count())
            .where(
                and_(
                    QueueElement.status.in_([QueueStatus.FAILED, QueueStatus.ABANDONED]),
                    recent,
                )
            )
            .group_by(QueueElement.queue_name)
        )
        return self._read(
            lambda session: {str(name): int(count) for name, count in session.execute(statement)}
        )

"""Deleting old rows (retention): logs, ended jobs, finished queue elements with their
pipeline history, closed alerts with their deliveries, the API's audit, finished run
requests.

Default: keep everything (as OpenOrchestrator does); nothing is deleted unless a number
of days is given for a kind. Each kind is pruned in small batches: a batch selects at
most `batch_size` ids from the range of one index (the kind's time column) and deletes
them in one short transaction, then the pruner pauses, so claims, heartbeats and the UI
wait for at most one batch. Rows something still needs are never selected: a RUNNING
job, a job whose queue elements are still IN_PROGRESS, a queue element that is not in a
final state (an unfinished pipeline's element is NEW or IN_PROGRESS), an open alert, a
PENDING run request.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, func, select
from sqlalchemy.orm import Session

from openorch.database import (
    Alert,
    AlertDelivery,
    ApiAuditEntry,
    ElementEvent,
    Job,
    JobStatus,
    Log,
    PipelineRun,
    PipelineStepRun,
    QueueElement,
    QueueStatus,
    ReviewItem,
    RunRequest,
    RunRequestStatus,
)
from openorch.store import state
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput

#: The kinds of data retention knows, in the order a run prunes them.
KINDS = ("logs", "jobs", "queue_elements", "alerts", "api_audit", "run_requests")
DEFAULT_BATCH_SIZE = 500
#: Seconds between two batches at least: room for everyone else's transactions.
DEFAULT_PAUSE = 0.05
#: After each batch the pruner also waits this many times as long as the batch took,
#: so it holds the write lock (SQLite has one for the whole file) at most a third of
#: the time whatever the machine's speed: claims keep most of it.
PAUSE_FACTOR = 2.0

_FINAL_ELEMENTS = (QueueStatus.DONE, QueueStatus.FAILED, QueueStatus.ABANDONED)


@dataclass(frozen=True)
class PruneResult:
    """One kind's pruning: the cut-off, the rows deleted (or, on a dry run, that would
    be), the batches and how long it took."""

    kind: str
    cutoff: datetime
    rows: int
    batches: int
    seconds: float
    dry_run: bool
    #: False when the time budget ran out with old rows left (the next pass goes on).
    finished: bool = True


def _old_rows(kind: str, cutoff: datetime) -> tuple[Any, ColumnElement[bool]]:
    """The id column and the condition selecting `kind`'s rows older than `cutoff` that
    nothing references any more."""
    if kind == "logs":
        return Log.id, Log.log_time < cutoff
    if kind == "jobs":
        busy = exists().where(
            QueueElement.job_id == Job.id, QueueElement.status == QueueStatus.IN_PROGRESS
        )
        return Job.id, (
            Job.status.in_([JobStatus.DONE, JobStatus.FAILED, JobStatus.KILLED])
            & (Job.end_time < cutoff)
            & ~busy
        )
    if kind == "queue_elements":
        return QueueElement.id, (
            QueueElement.status.in_(_FINAL_ELEMENTS) & (QueueElement.end_date < cutoff)
        )
    if kind == "alerts":
        return Alert.id, Alert.closed_at < cutoff
    if kind == "api_audit":
        return ApiAuditEntry.id, ApiAuditEntry.time < cutoff
    if kind == "run_requests":
        return RunRequest.id, (
            RunRequest.status.in_([RunRequestStatus.STARTED, RunRequestStatus.CANCELLED])
            & (RunRequest.requested_at < cutoff)
        )
    raise BadInput(f"Unknown kind of data {kind!r}: choose from {', '.join(KINDS)}.")


def _delete_batch(session: Session, kind: str, ids: Sequence[Any]) -> None:
    """Delete `ids` of `kind`, with the rows that only describe them."""
    if kind == "queue_elements":
        session.execute(delete(PipelineStepRun).where(PipelineStepRun.element_id.in_(ids)))
        session.execute(delete(PipelineRun).where(PipelineRun.element_id.in_(ids)))
        session.execute(delete(ReviewItem).where(ReviewItem.element_id.in_(ids)))
        session.execute(delete(ElementEvent).where(ElementEvent.element_id.in_(ids)))
    if kind == "alerts":
        session.execute(delete(AlertDelivery).where(AlertDelivery.alert_id.in_(ids)))
    column, _condition = _old_rows(kind, datetime.now())
    session.execute(delete(column.class_).where(column.in_(ids)))


def check_days(kind: str, days: object) -> int:
    """A whole number of days of at least 1 for a known kind."""
    _old_rows(kind, datetime.now())  # raises BadInput for an unknown kind
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise BadInput(f"Days to keep {kind} must be a whole number of at least 1, not {days!r}.")
    return days


def parse_policy(items: Sequence[str]) -> dict[str, int]:
    """`["logs=90", "jobs=365"]` -> {"logs": 90, "jobs": 365} (`--keep`, `--prune`).

    Raises:
        BadInput: not KIND=DAYS, an unknown kind, days below 1, a kind given twice.
    """
    policy: dict[str, int] = {}
    for item in items:
        kind, sep, days = item.partition("=")
        kind = kind.strip().replace("-", "_")
        if not sep or not days.strip().isdigit():
            raise BadInput(f"Retention wants KIND=DAYS (e.g. logs=90), not {item!r}.")
        if kind in policy:
            raise BadInput(f"Retention names {kind} twice.")
        policy[kind] = check_days(kind, int(days))
    return policy


class RetentionStore(StoreCore):
    """Pruning old rows in short batches."""

    def prune(
        self,
        kind: str,
        keep_days: int,
        *,
        dry_run: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        pause: float = DEFAULT_PAUSE,
        now: datetime | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        max_seconds: float | None = None,
    ) -> PruneResult:
        """Delete `kind`'s rows older than `keep_days` days (by the database's clock
        unless `now` is given); `dry_run` only counts them. With `max_seconds` it stops
        after the batch that used up the budget (`finished` False: rows may be left).

        Raises:
            BadInput: an unknown kind, or days or batch size below 1 (nothing deleted).
        """
        keep_days = check_days(kind, keep_days)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise BadInput(
                f"The batch size must be a whole number of at least 1, not {batch_size!r}."
            )
        started = time.monotonic()
        if now is None:
            now = self._read(lambda session: state.database_now(session.connection()))
        cutoff = now - timedelta(days=keep_days)
        column, condition = _old_rows(kind, cutoff)
        if dry_run:
            count = self._read(
                lambda session: int(
                    session.execute(
                        select(func.count()).select_from(column.class_).where(condition)
                    ).scalar_one()
                )
            )
            return PruneResult(kind, cutoff, count, 0, time.monotonic() - started, True)
        query: Select[Any] = select(column).where(condition).limit(batch_size)
        rows = batches = 0
        finished = False
        while not should_stop():

            def work(session: Session) -> int:
                ids = list(session.scalars(query))
                if ids:
                    _delete_batch(session, kind, ids)
                return len(ids)

            batch_started = time.monotonic()
            deleted = self._write(work)
            batch_seconds = time.monotonic() - batch_started
            rows += deleted
            if deleted:
                batches += 1
            if deleted < batch_size:
                finished = True
                break
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
            time.sleep(max(pause, batch_seconds * PAUSE_FACTOR) if pause else 0.0)
        seconds = time.monotonic() - started
        return PruneResult(kind, cutoff, rows, batches, seconds, False, finished)

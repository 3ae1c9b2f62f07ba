"""Deleting old rows (retention): logs, ended jobs, finished queue elements with their
pipeline history, closed alerts with their deliveries, the API's audit, finished run
requests.

Default: keep everything (as OpenOrchestrator does); nothing is deleted unless a number
of days is given for a kind. Each kind is pruned in small batches: a batch selects at
most `batch_size` ids (fewer while batches take longer than `HOLD_TARGET`) from the
range of one index (the kind's time column) and deletes them in one short transaction,
then the pruner pauses, so claims, heartbeats and the UI
wait for at most one batch. Rows something still needs are never selected: a RUNNING
job, a job whose queue elements are still IN_PROGRESS, a queue element that is not in a
final state, a failed element whose pipeline still has a step to run (it may be
retried), an element in review (`review_hold`, the hook for the review
tables), an open alert, a PENDING run request.

The days per kind come from the stored policy (`store/ops/retention_policy.py`, edited in
the Settings tab) or from the command line.
"""

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    delete,
    exists,
    func,
    select,
)
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
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput
from openorch.store.runs import state

#: The kinds of data retention knows, in the order a run prunes them.
KINDS = ("logs", "jobs", "queue_elements", "alerts", "api_audit", "run_requests")
DEFAULT_BATCH_SIZE = 200
#: More days than this is a typo (100 years), refused like a negative number.
MAX_DAYS = 36500
#: Seconds between two batches at least: room for everyone else's transactions.
DEFAULT_PAUSE = 0.05
#: After each batch the pruner also waits this many times as long as the batch took,
#: so it holds the write lock (SQLite has one for the whole file) at most a tenth of
#: the time whatever the machine's speed: claims keep 90 % of it even when they alone
#: would fill it (issue 29's target; bench/prune_bench.py). Small batches keep each
#: wait short. Slow on purpose: a big backlog goes over hours, in the background.
PAUSE_FACTOR = 9.0
#: How long one batch should hold its transaction (on SQLite: the write lock every claim
#: needs) at most. A batch that held it longer halves the next one (down to
#: `MIN_BATCH`), one that took under a quarter of it doubles the next (up to the
#: batch size asked for): rows that cost more to delete (queue elements with their
#: history, counts and search entries) go in smaller batches, so a claim waits behind
#: the pruner for about this long at most (issue 29's target: 100 ms) on any machine.
HOLD_TARGET = 0.05
MIN_BATCH = 10

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
    #: The longest time one batch held its transaction open, in seconds (on SQLite the
    #: write lock): the most a claim can have waited behind the pruner.
    longest_hold: float = 0.0


def review_hold() -> ColumnElement[bool]:
    """The condition "this queue element waits in the review inbox" (an open item in
    `Queue_Reviews`, store/queues/review.py): such an element is kept however old, so a
    person's decision never finds it gone. Decided items let their element go; their
    rows are deleted with it."""
    return exists().where(ReviewItem.element_id == QueueElement.id, ReviewItem.state == "open")


def _old_rows(
    kind: str, cutoff: datetime, in_review: ColumnElement[bool] | None = None
) -> tuple[Any, ColumnElement[bool]]:
    """The id column and the condition selecting `kind`'s rows older than `cutoff` that
    nothing references any more (`in_review`: see `review_hold`)."""
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
        # A FAILED or ABANDONED element whose pipeline has a step left (it failed or
        # timed out on the way) is part of an unfinished pipeline: an admin may still
        # retry it. A DONE element is done, whatever its pipeline row says.
        unfinished_pipeline = (QueueElement.status != QueueStatus.DONE) & exists().where(
            (PipelineRun.element_id == QueueElement.id) & PipelineRun.step.isnot(None)
        )
        condition = (
            QueueElement.status.in_(_FINAL_ELEMENTS)
            & (QueueElement.end_date < cutoff)
            & ~unfinished_pipeline
        )
        if in_review is not None:
            condition = condition & ~in_review
        return QueueElement.id, condition
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


def check_policy_days(kind: str, value: object) -> int | None:
    """One kind's days as given (a number, or text typed in Settings or on the command
    line): None or blank keeps everything; otherwise a whole number from 1 to MAX_DAYS.

    Raises:
        BadInput: an unknown kind, text that is not a whole number, a number below 1
            or above MAX_DAYS (the message names the kind and the value).
    """
    if kind not in KINDS:
        raise BadInput(f"Unknown kind of data {kind!r}: choose from {', '.join(KINDS)}.")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise BadInput(
            f"Days to keep {kind} must be a whole number of days (or empty to keep "
            f"everything), not {value!r}."
        )
    if number < 1:
        raise BadInput(f"Days to keep {kind} must be at least 1, not {number}.")
    if number > MAX_DAYS:
        raise BadInput(f"Days to keep {kind} must be at most {MAX_DAYS:,}, not {number:,}.")
    return number


def check_batch_size(batch_size: object) -> int:
    """A whole number of rows of at least 1.

    Raises:
        BadInput: anything else.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise BadInput(f"The batch size must be a whole number of at least 1, not {batch_size!r}.")
    return batch_size


def check_days(kind: str, days: object) -> int:
    """A whole number of days from 1 to MAX_DAYS for a known kind (None refused)."""
    checked = check_policy_days(kind, days)
    if checked is None:
        raise BadInput(f"Days to keep {kind} must be a whole number of at least 1, not {days!r}.")
    return checked


def parse_policy(items: Sequence[str]) -> dict[str, int]:
    """`["logs=90", "jobs=365"]` -> {"logs": 90, "jobs": 365} (`--keep`, `--prune`).

    Raises:
        BadInput: not KIND=DAYS, an unknown kind, days below 1, a kind given twice.
    """
    policy: dict[str, int] = {}
    for item in items:
        kind, sep, days = item.partition("=")
        kind = kind.strip().replace("-", "_")
        if not sep or not days.strip():
            raise BadInput(f"Retention wants KIND=DAYS (e.g. logs=90), not {item!r}.")
        if kind in policy:
            raise BadInput(f"Retention names {kind} twice.")
        policy[kind] = check_days(kind, days)
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
        pause_factor: float = PAUSE_FACTOR,
        hold_target: float = HOLD_TARGET,
    ) -> PruneResult:
        """Delete `kind`'s rows older than `keep_days` days (by the database's clock
        unless `now` is given); `dry_run` only counts them. With `max_seconds` it stops
        after the batch that used up the budget (`finished` False: rows may be left).

        Raises:
            BadInput: an unknown kind, or days or batch size below 1 (nothing deleted).
        """
        keep_days = check_days(kind, keep_days)
        check_batch_size(batch_size)
        started = time.monotonic()
        if now is None:
            now = self._read(lambda session: state.database_now(session.connection()))
        cutoff = now - timedelta(days=keep_days)
        in_review = review_hold() if kind == "queue_elements" else None
        column, condition = _old_rows(kind, cutoff, in_review)
        if dry_run:
            count = self._read(
                lambda session: int(
                    session.execute(
                        select(func.count()).select_from(column.class_).where(condition)
                    ).scalar_one()
                )
            )
            return PruneResult(kind, cutoff, count, 0, time.monotonic() - started, True)
        rows = batches = 0
        longest_hold = 0.0
        finished = False
        locked_at = [0.0]
        size = batch_size

        def work(session: Session) -> int:
            session.connection()  # BEGIN (SQLite: IMMEDIATE, the write lock is held)
            locked_at[0] = time.monotonic()
            query: Select[Any] = select(column).where(condition).limit(size)
            ids = list(session.scalars(query))
            if ids:
                _delete_batch(session, kind, ids)
            return len(ids)

        while not should_stop():
            deleted = self._write(work)
            # How long this batch held the lock (to the commit), not how long it waited
            # for it: waiting is others' work, and must not lengthen the pause.
            batch_seconds = time.monotonic() - locked_at[0]
            longest_hold = max(longest_hold, batch_seconds)
            rows += deleted
            if deleted:
                batches += 1
            if deleted < size:
                finished = True
                break
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
            if batch_seconds > hold_target:
                size = max(min(MIN_BATCH, batch_size), size // 2)
            elif batch_seconds < hold_target / 4:
                size = min(batch_size, size * 2)
            time.sleep(max(pause, batch_seconds * pause_factor) if pause else 0.0)
        seconds = time.monotonic() - started
        return PruneResult(kind, cutoff, rows, batches, seconds, False, finished, longest_hold)

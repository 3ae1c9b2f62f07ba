"""The stored retention policy (days to keep per kind of data) and the record of every
prune run (issue 29).

The policy lives in `Retention_Policy`, one row per kind with a number of days; no row
means keep that kind whole (the default, as OpenOrchestrator keeps everything). The
Settings tab edits it, the Scheduler holding the watchdog lease prunes by it, and so does
`openorch prune` when no `--keep` is given. Every pass, by whichever pruner, is a
`Prune_Runs` row with a `Prune_Run_Kinds` row per kind: when, by whom, how many rows,
how long, dry run or not.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openorch.database import PruneRun, PruneRunKind, RetentionPolicy
from openorch.store.ops.retention import (
    DEFAULT_BATCH_SIZE,
    KINDS,
    MAX_DAYS,
    PruneResult,
    RetentionStore,
    check_batch_size,
    check_policy_days,
)
from openorch.store.runs import state

__all__ = ["MAX_DAYS", "check_policy_days"]

#: What each kind is called on a page.
KIND_LABELS: dict[str, str] = {
    "logs": "Logs",
    "jobs": "Ended jobs (with their outcome)",
    "queue_elements": "Finished queue elements (with pipeline history)",
    "alerts": "Closed alerts (with their deliveries)",
    "api_audit": "API audit",
    "run_requests": "Started or cancelled run requests",
}


@dataclass
class PruneKindView:
    """One kind of one recorded run."""

    kind: str
    keep_days: int
    cutoff: datetime
    rows: int
    batches: int
    seconds: float
    finished: bool


@dataclass
class PruneRunView:
    """One recorded prune run with its kinds."""

    run_id: uuid.UUID
    started_at: datetime
    finished_at: datetime | None
    run_by: str
    dry_run: bool
    rows: int
    seconds: float | None
    note: str | None
    kinds: list[PruneKindView] = field(default_factory=list)


@dataclass
class PruneTotals:
    """All-time figures of the real (not dry) runs, for `/metrics`."""

    runs: int = 0
    #: kind -> rows deleted.
    rows: dict[str, int] = field(default_factory=dict)
    #: When the newest finished run finished (None: none yet).
    last_finished: datetime | None = None


class RetentionPolicyStore(RetentionStore):
    """The retention policy and the prune-run record."""

    def prune_by_policy(
        self,
        policy: Mapping[str, int],
        run_by: str,
        *,
        dry_run: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_result: Callable[[PruneResult], None] = lambda _result: None,
    ) -> tuple[uuid.UUID, list[PruneResult]]:
        """One recorded pass over `policy` ({kind: days}) in KINDS order, to the end
        (`openorch prune`; the watchdog prunes in slices and records as it goes).
        `on_result` hears each kind as it finishes.

        Raises:
            BadInput: an unknown kind or bad days (checked first: nothing deleted, no run
                recorded).
        """
        checked = {kind: check_policy_days(kind, days) for kind, days in policy.items()}
        check_batch_size(batch_size)
        run_id = self.start_prune_run(run_by, dry_run=dry_run)
        results: list[PruneResult] = []
        note: str | None = None
        try:
            for kind in KINDS:
                days = checked.get(kind)
                if days is None:
                    continue
                result = self.prune(kind, days, dry_run=dry_run, batch_size=batch_size)
                self.record_prune_result(run_id, days, result)
                results.append(result)
                on_result(result)
        except BaseException as error:
            note = f"stopped: {type(error).__name__}"
            raise
        finally:
            self.finish_prune_run(run_id, note)
        return run_id, results

    def get_retention_policy(self) -> dict[str, int]:
        """{kind: days} for the kinds with a policy, in KINDS order (empty: keep all)."""

        def work(session: Session) -> dict[str, int]:
            rows = dict(
                session.execute(select(RetentionPolicy.kind, RetentionPolicy.keep_days)).all()
            )
            return {kind: int(rows[kind]) for kind in KINDS if kind in rows}

        return self._read(work)

    def set_retention_policy(
        self, policy: Mapping[str, object], changed_by: str | None = None
    ) -> dict[str, int]:
        """Replace the kinds named in `policy` (days, or None/blank to keep that kind
        whole); kinds not named stay as they are. Every value is checked before anything
        is written, so bad input changes nothing. Returns the whole new policy.

        Raises:
            BadInput: see `check_policy_days`.
        """
        checked = {kind: check_policy_days(kind, value) for kind, value in policy.items()}

        def work(session: Session) -> None:
            now = state.database_now(session.connection())
            for kind, days in checked.items():
                row = session.get(RetentionPolicy, kind)
                if days is None:
                    if row is not None:
                        session.delete(row)
                elif row is None:
                    session.add(
                        RetentionPolicy(
                            kind=kind, keep_days=days, changed_at=now, changed_by=changed_by
                        )
                    )
                elif row.keep_days != days:
                    row.keep_days = days
                    row.changed_at = now
                    row.changed_by = changed_by

        self._write(work)
        return self.get_retention_policy()

    # --- the record of runs -----------------------------------------------------------

    def start_prune_run(self, run_by: str, *, dry_run: bool = False) -> uuid.UUID:
        """A new run row (started now, by the database's clock); returns its id."""
        run_id = uuid.uuid4()

        def work(session: Session) -> None:
            now = state.database_now(session.connection())
            session.add(
                PruneRun(
                    id=run_id,
                    started_at=now,
                    run_by=run_by[:200],
                    dry_run=dry_run,
                    rows=0,
                )
            )

        self._write(work)
        return run_id

    def record_prune_result(self, run_id: uuid.UUID, keep_days: int, result: PruneResult) -> None:
        """Add one `prune` call's figures to its run (a kind pruned over several slices
        adds up: rows, batches and seconds; `finished` is the last call's)."""

        def work(session: Session) -> None:
            row = session.get(PruneRunKind, (run_id, result.kind))
            if row is None:
                row = PruneRunKind(
                    run_id=run_id,
                    kind=result.kind,
                    keep_days=keep_days,
                    cutoff=result.cutoff,
                    rows=0,
                    batches=0,
                    seconds=0.0,
                    finished=False,
                )
                session.add(row)
            row.rows += result.rows
            row.batches += result.batches
            row.seconds += result.seconds
            row.finished = result.finished
            run = session.get(PruneRun, run_id)
            if run is not None:
                run.rows += result.rows

        self._write(work)

    def finish_prune_run(self, run_id: uuid.UUID, note: str | None = None) -> None:
        """Stamp the run finished (now) with its total seconds and an optional note."""

        def work(session: Session) -> None:
            run = session.get(PruneRun, run_id)
            if run is None:
                return
            now = state.database_now(session.connection())
            run.finished_at = now
            run.seconds = max(0.0, (now - run.started_at).total_seconds())
            run.note = note[:1000] if note else None

        self._write(work)

    def get_prune_runs(self, limit: int = 20) -> list[PruneRunView]:
        """The newest `limit` runs, newest first, each with its kinds (KINDS order)."""

        def work(session: Session) -> list[PruneRunView]:
            runs = [
                PruneRunView(
                    run.id,
                    run.started_at,
                    run.finished_at,
                    run.run_by,
                    bool(run.dry_run),
                    int(run.rows),
                    run.seconds,
                    run.note,
                )
                for run in session.scalars(
                    select(PruneRun).order_by(PruneRun.started_at.desc()).limit(limit)
                )
            ]
            by_id = {run.run_id: run for run in runs}
            if by_id:
                for kind in session.scalars(
                    select(PruneRunKind).where(PruneRunKind.run_id.in_(list(by_id)))
                ):
                    by_id[kind.run_id].kinds.append(
                        PruneKindView(
                            kind.kind,
                            kind.keep_days,
                            kind.cutoff,
                            int(kind.rows),
                            kind.batches,
                            kind.seconds,
                            bool(kind.finished),
                        )
                    )
                for run in runs:
                    run.kinds.sort(key=lambda view: KINDS.index(view.kind))
            return runs

        return self._read(work)

    def get_prune_totals(self) -> PruneTotals:
        """Runs and rows deleted by real runs, all time (small tables: a run an hour is
        8,760 rows a year)."""

        def work(session: Session) -> PruneTotals:
            return prune_totals(session)

        return self._read(work)


def prune_totals(session: Session) -> PruneTotals:
    """`PruneTotals` read in `session` (the metrics read uses its own transaction)."""
    totals = PruneTotals()
    real = PruneRun.dry_run.is_(False)
    totals.runs = int(
        session.execute(
            select(func.count())
            .select_from(PruneRun)
            .where(real & PruneRun.finished_at.isnot(None))
        ).scalar_one()
    )
    totals.last_finished = session.execute(
        select(func.max(PruneRun.finished_at)).where(real)
    ).scalar_one()
    for kind, rows in session.execute(
        select(PruneRunKind.kind, func.sum(PruneRunKind.rows))
        .join(PruneRun, PruneRun.id == PruneRunKind.run_id)
        .where(real)
        .group_by(PruneRunKind.kind)
    ).all():
        totals.rows[str(kind)] = int(rows or 0)
    return totals

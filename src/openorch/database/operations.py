"""Running openorch for years (issue 29): the stored retention policy, the record of
every prune run, and the job counters `/metrics` reports.

openorch's own tables (the original OpenOrchestrator never reads them). They are small
whatever the fleet does: one policy row per kind of data, one run row (and a row per
kind it pruned) per prune pass, one counter row per process and job status.
"""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base
from openorch.database.ids import new_id


class RetentionPolicy(Base):
    """Days to keep one kind of data (`store.retention.KINDS`). No row: keep it all."""

    __tablename__ = "Retention_Policy"

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    keep_days: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column()
    changed_by: Mapped[str | None] = mapped_column(String(200))


class PruneRun(Base):
    """One prune pass: who ran it (a Scheduler's watchdog, `openorch prune`), when, and
    how much went. `finished_at` NULL: still running, or its pruner died mid-pass."""

    __tablename__ = "Prune_Runs"
    __table_args__ = (Index("ix_Prune_Runs_started_at", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    run_by: Mapped[str] = mapped_column(String(200))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    seconds: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(String(1000))


class PruneRunKind(Base):
    """What one prune pass did to one kind of data."""

    __tablename__ = "Prune_Run_Kinds"

    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    keep_days: Mapped[int] = mapped_column(Integer)
    cutoff: Mapped[datetime] = mapped_column()
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    finished: Mapped[bool] = mapped_column(Boolean, default=False)


class JobCounter(Base):
    """All-time figures of the jobs of one process that ended with one status: how many,
    their total run time and the duration histogram's cumulative bucket counts (a JSON
    list, one count per `store.metrics.DURATION_BUCKETS` bound). Folded in by the
    watchdog lease holder from the jobs that ended since `Ops_State`'s watermark, so a
    scrape reads these few rows instead of every job."""

    __tablename__ = "Job_Counters"

    process_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), primary_key=True)
    jobs: Mapped[int] = mapped_column(BigInteger, default=0)
    seconds_total: Mapped[float] = mapped_column(Float, default=0.0)
    buckets: Mapped[str] = mapped_column(String(400))


class OpsState(Base):
    """A named value the fleet's one watchdog keeps (e.g. how far the job counters
    have read)."""

    __tablename__ = "Ops_State"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(400))
    changed_at: Mapped[datetime] = mapped_column()

"""openorch: a stored retention policy, the record of prune runs, job counters (issue 29).

Revision ID: 0d1da1e5c001
Revises: 0d1aa1e5c001

Additive only (new tables), so the original OpenOrchestrator keeps working:
- Retention_Policy: days to keep per kind of data (no row: keep everything);
- Prune_Runs and Prune_Run_Kinds: every prune pass, per kind how many rows, how long;
- Job_Counters and Ops_State: all-time job counts for `/metrics`, folded in by the
  watchdog lease holder from the jobs that ended since a watermark.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0d1da1e5c001"
down_revision: str | None = "0d1ca1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "Retention_Policy",
        sa.Column("kind", sa.String(30), primary_key=True),
        sa.Column("keep_days", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=True),
    )
    op.create_table(
        "Prune_Runs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("run_by", sa.String(200), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("note", sa.String(1000), nullable=True),
    )
    op.create_index("ix_Prune_Runs_started_at", "Prune_Runs", ["started_at"])
    op.create_table(
        "Prune_Run_Kinds",
        sa.Column("run_id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(30), primary_key=True),
        sa.Column("keep_days", sa.Integer(), nullable=False),
        sa.Column("cutoff", sa.DateTime(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "Job_Counters",
        sa.Column("process_name", sa.String(100), primary_key=True),
        sa.Column("status", sa.String(10), primary_key=True),
        sa.Column("jobs", sa.BigInteger(), nullable=False),
        sa.Column("seconds_total", sa.Float(), nullable=False),
        sa.Column("buckets", sa.String(400), nullable=False),
    )
    op.create_table(
        "Ops_State",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("value", sa.String(400), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("Ops_State", "Job_Counters", "Prune_Run_Kinds", "Prune_Runs", "Retention_Policy"):
        op.drop_table(table)

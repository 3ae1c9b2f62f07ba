"""openorch: queue settings, and elements bound to the job that claimed them.

Revision ID: 0d14a1e5c001
Revises: 0d13a1e5c001

Additive only, so the original OpenOrchestrator keeps working on the database (it never
reads or writes the new columns, so its claims ignore not-before and record no job):
- Queues.job_id, attempts, not_before, deadline, unique_reference (all nullable);
- a filtered index on Queues(job_id) for the rows that have a job, so ending a job finds
  its elements without a scan, bulk inserts (job_id NULL) never touch it, and a status
  change of a claimed element does not have to update it;
- a filtered index on Queues(status, deadline) for the rows with a deadline (overdue
  counts without a scan);
- a filtered unique index on Queues(queue_name, unique_reference) for the rows that have
  one: filled only for queues that ask for unique references, race-safe everywhere;
- the Queue_Settings table (one optional row per queue name).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0d14a1e5c001"
down_revision: str | None = "0d13a1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_COLUMNS = ("job_id", "attempts", "not_before", "deadline", "unique_reference")


def _where(condition: str) -> dict[str, sa.TextClause]:
    return {
        f"{dialect}_where": sa.text(condition) for dialect in ("sqlite", "postgresql", "mssql")
    }


def upgrade() -> None:
    op.create_table(
        "Queue_Settings",
        sa.Column("queue_name", sa.String(100), primary_key=True),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_delay_seconds", sa.Integer(), nullable=False),
        sa.Column("unique_references", sa.Boolean(), nullable=False),
        sa.Column("default_deadline_seconds", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(1000), nullable=True),
    )
    with op.batch_alter_table("Queues") as batch:
        batch.add_column(sa.Column("job_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("not_before", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("deadline", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("unique_reference", sa.String(100), nullable=True))
    op.create_index(
        "ix_Queues_job_id",
        "Queues",
        ["job_id"],
        **_where("job_id IS NOT NULL"),
    )
    op.create_index(
        "ix_Queues_status_deadline",
        "Queues",
        ["status", "deadline"],
        **_where("deadline IS NOT NULL"),
    )
    op.create_index(
        "ux_Queues_queue_name_unique_reference",
        "Queues",
        ["queue_name", "unique_reference"],
        unique=True,
        **_where("unique_reference IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ux_Queues_queue_name_unique_reference", table_name="Queues")
    op.drop_index("ix_Queues_status_deadline", table_name="Queues")
    op.drop_index("ix_Queues_job_id", table_name="Queues")
    with op.batch_alter_table("Queues") as batch:
        for column in reversed(NEW_COLUMNS):
            batch.drop_column(column)
    op.drop_table("Queue_Settings")

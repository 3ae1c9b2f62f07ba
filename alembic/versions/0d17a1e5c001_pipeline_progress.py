"""openorch: progress and history of resumable pipelines.

Revision ID: 0d17a1e5c001
Revises: 0d14a1e5c001

Additive only: two new tables the original OpenOrchestrator never reads, so it keeps
working on the database and sees pipeline elements as ordinary queue elements.
- Pipeline_Runs: one row per element run by a pipeline (its queue, current step, JSON
  state, whether the step waits to be continued, since when, and the fencing token of the
  run holding it), indexed on (queue_name, step) for the queue dialog's step filter;
- Pipeline_Step_History: one row per run of a step's part (start/finish, job, outcome),
  indexed on (element_id, started_date) for the element popup.
Separate tables rather than columns of Queues: see src/openorch/database/pipelines.py.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0d17a1e5c001"
down_revision: str | None = "0d14a1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "Pipeline_Runs",
        sa.Column("element_id", sa.Uuid(), primary_key=True),
        sa.Column("queue_name", sa.String(100), nullable=False),
        sa.Column("pipeline", sa.String(100), nullable=False),
        sa.Column("step", sa.String(100), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("continuing", sa.Boolean(), nullable=False),
        sa.Column("wait_started", sa.DateTime(), nullable=True),
        sa.Column("token", sa.Uuid(), nullable=True),
        sa.Column("updated_date", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_Pipeline_Runs_queue_name_step", "Pipeline_Runs", ["queue_name", "step"])
    op.create_table(
        "Pipeline_Step_History",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("element_id", sa.Uuid(), nullable=False),
        sa.Column("pipeline", sa.String(100), nullable=False),
        sa.Column("step", sa.String(100), nullable=False),
        sa.Column("part", sa.String(20), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("started_date", sa.DateTime(), nullable=False),
        sa.Column("finished_date", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("message", sa.String(1000), nullable=True),
    )
    op.create_index(
        "ix_Pipeline_Step_History_element_id_started_date",
        "Pipeline_Step_History",
        ["element_id", "started_date"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_Pipeline_Step_History_element_id_started_date", table_name="Pipeline_Step_History"
    )
    op.drop_table("Pipeline_Step_History")
    op.drop_index("ix_Pipeline_Runs_queue_name_step", table_name="Pipeline_Runs")
    op.drop_table("Pipeline_Runs")

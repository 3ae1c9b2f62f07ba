"""openorch: run ownership and liveness (Scheduler runs, job processes, failure choice).

Revision ID: 0d13a1e5c001
Revises: 0d16a1e5c001

Additive only (nullable columns the original OpenOrchestrator never reads or writes):
- Schedulers.run_id / run_started: the run that owns the name now (a fresh id per start);
- Schedulers.heartbeat_timeout: the silence after which this run counts as dead, so every
  reaper and the Orchestrator judge it by one rule;
- Schedulers.clock_offset: the robot's clock minus the database's, in seconds;
- Schedulers.engine_state: running, paused, stopping or stopped;
- Jobs.run_id / pid / process_started: the run that owns the job and what recognises its
  process later (pid and the process's start time, seconds since the epoch);
- Triggers.keep_running_after_failure: NULL or false = stop after a failure (as before).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0d13a1e5c001"
down_revision: str | None = "0d16a1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS: dict[str, list[sa.Column]] = {
    "Schedulers": [
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("run_started", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_timeout", sa.Float(), nullable=True),
        sa.Column("clock_offset", sa.Float(), nullable=True),
        sa.Column("engine_state", sa.String(20), nullable=True),
    ],
    "Jobs": [
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("process_started", sa.Float(), nullable=True),
    ],
    "Triggers": [
        sa.Column("keep_running_after_failure", sa.Boolean(), nullable=True),
    ],
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(column)


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in reversed(columns):
                batch.drop_column(column.name)

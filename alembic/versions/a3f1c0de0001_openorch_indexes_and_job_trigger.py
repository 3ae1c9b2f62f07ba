"""openorch 1: read-path indexes, and Jobs.trigger_id.

Revision ID: a3f1c0de0001
Revises: (base of openorch's chain; needs the original's chain at 1c87ed320c78)

Additive only, so the original OpenOrchestrator keeps working on the database:
- indexes that keep the Logs and Queues views fast at a million rows and let the
  claim of the next queue element read one index entry;
- Jobs.trigger_id (nullable), so a job whose Scheduler died can fail its trigger too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a3f1c0de0001"
# The first of openorch's own chain (version table openorch_version); it runs after the
# original's chain reached 1c87ed320c78 (openorch.migrate.upgrade orders the two).
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_Logs_log_time": ("Logs", ["log_time"]),
    "ix_Logs_process_name_log_time": ("Logs", ["process_name", "log_time"]),
    "ix_Logs_log_level_log_time": ("Logs", ["log_level", "log_time"]),
    "ix_Logs_job_id": ("Logs", ["job_id"]),
    "ix_Queues_queue_name_status_created_date": (
        "Queues",
        ["queue_name", "status", "created_date"],
    ),
    "ix_Queues_queue_name_created_date": ("Queues", ["queue_name", "created_date"]),
    "ix_Queues_queue_name_reference": ("Queues", ["queue_name", "reference"]),
    "ix_Jobs_start_time": ("Jobs", ["start_time"]),
    "ix_Jobs_status": ("Jobs", ["status"]),
}


def upgrade() -> None:
    with op.batch_alter_table("Jobs") as batch:
        batch.add_column(sa.Column("trigger_id", sa.Uuid(), nullable=True))
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("Jobs") as batch:
        batch.drop_column("trigger_id")

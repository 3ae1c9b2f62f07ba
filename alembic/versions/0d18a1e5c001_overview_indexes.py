"""openorch: indexes for the Orchestrator's Overview page.

Revision ID: 0d18a1e5c001
Revises: 0d15a1e5c001

Additive only (indexes), so the original OpenOrchestrator keeps working on the database.
They let the Overview read jobs per day and status, the queues' backlog and oldest NEW
element, and the elements finished lately from one index range each.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0d18a1e5c001"
down_revision: str | None = "0d15a1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_Jobs_start_time_status_process_name": ("Jobs", ["start_time", "status", "process_name"]),
    "ix_Queues_status_queue_name_created_date": (
        "Queues",
        ["status", "queue_name", "created_date"],
    ),
    "ix_Queues_status_end_date_queue_name": ("Queues", ["status", "end_date", "queue_name"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)

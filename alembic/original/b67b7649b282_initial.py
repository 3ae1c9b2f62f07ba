"""Initial schema of the original OpenOrchestrator (before the Schedulers table).

Revision ID: b67b7649b282
Revises:
Create Date: 2024-01-01

Enums are plain VARCHAR columns holding the member name (never native ENUM types).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b67b7649b282"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "Constants",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.String(1000), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "Credentials",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("username", sa.String(250), nullable=False),
        sa.Column("password", sa.String(1000), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "Logs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("log_time", sa.DateTime(), nullable=False),
        sa.Column("log_level", sa.String(5), nullable=False),
        sa.Column("process_name", sa.String(100), nullable=False),
        sa.Column("log_message", sa.String(8000), nullable=False),
    )
    op.create_table(
        "Queues",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("queue_name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(11), nullable=False),
        sa.Column("data", sa.String(2000), nullable=True),
        sa.Column("reference", sa.String(100), nullable=True),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("start_date", sa.DateTime(), nullable=True),
        sa.Column("end_date", sa.DateTime(), nullable=True),
        sa.Column("message", sa.String(1000), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=True),
    )
    op.create_index("ix_Queues_created_date", "Queues", ["created_date"])
    op.create_index("ix_Queues_queue_name", "Queues", ["queue_name"])
    op.create_table(
        "Triggers",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("trigger_name", sa.String(100), nullable=False),
        sa.Column("process_name", sa.String(100), nullable=False),
        sa.Column("last_run", sa.DateTime(), nullable=True),
        sa.Column("process_path", sa.String(250), nullable=False),
        sa.Column("process_args", sa.String(1000), nullable=True),
        sa.Column("process_status", sa.String(7), nullable=False),
        sa.Column("is_git_repo", sa.Boolean(), nullable=False),
        sa.Column("is_blocking", sa.Boolean(), nullable=False),
        sa.Column("type", sa.String(9), nullable=False),
    )
    op.create_table(
        "Queue_Triggers",
        sa.Column("id", sa.Uuid(), sa.ForeignKey("Triggers.id"), primary_key=True),
        sa.Column("queue_name", sa.String(200), nullable=False),
        sa.Column("min_batch_size", sa.Integer(), nullable=False),
    )
    op.create_table(
        "Scheduled_Triggers",
        sa.Column("id", sa.Uuid(), sa.ForeignKey("Triggers.id"), primary_key=True),
        sa.Column("cron_expr", sa.String(200), nullable=False),
        sa.Column("next_run", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "Single_Triggers",
        sa.Column("id", sa.Uuid(), sa.ForeignKey("Triggers.id"), primary_key=True),
        sa.Column("next_run", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("Single_Triggers", "Scheduled_Triggers", "Queue_Triggers", "Triggers"):
        op.drop_table(table)
    op.drop_index("ix_Queues_queue_name", table_name="Queues")
    op.drop_index("ix_Queues_created_date", table_name="Queues")
    for table in ("Queues", "Logs", "Credentials", "Constants"):
        op.drop_table(table)

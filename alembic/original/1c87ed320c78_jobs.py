"""Add the Jobs table and Logs.job_id (the original 3.0.0's newest revision).

Revision ID: 1c87ed320c78
Revises: 9698388a0709
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1c87ed320c78"
down_revision: str | None = "9698388a0709"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "Jobs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("process_name", sa.String(100), nullable=False),
        sa.Column("scheduler_name", sa.String(100), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=False),
        sa.Column("end_time", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(7), nullable=False),
    )
    with op.batch_alter_table("Logs") as batch:
        batch.add_column(sa.Column("job_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("Logs") as batch:
        batch.drop_column("job_id")
    op.drop_table("Jobs")

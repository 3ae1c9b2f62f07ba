"""Add Triggers.scheduler_whitelist and Triggers.priority.

Revision ID: 90d46abd44a3
Revises: 526b6edac328
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "90d46abd44a3"
down_revision: str | None = "526b6edac328"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("Triggers") as batch:
        batch.add_column(sa.Column("scheduler_whitelist", sa.String(250), nullable=True))
        batch.add_column(
            sa.Column("priority", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("Triggers") as batch:
        batch.drop_column("priority")
        batch.drop_column("scheduler_whitelist")

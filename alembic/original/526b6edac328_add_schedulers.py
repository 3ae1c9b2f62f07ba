"""Add the Schedulers table.

Revision ID: 526b6edac328
Revises: b67b7649b282
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "526b6edac328"
down_revision: str | None = "b67b7649b282"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "Schedulers",
        sa.Column("machine_name", sa.String(100), primary_key=True),
        sa.Column("last_update", sa.DateTime(), nullable=False),
        sa.Column("latest_trigger", sa.String(100), nullable=True),
        sa.Column("latest_trigger_time", sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("Schedulers")

"""Add Triggers.git_branch.

Revision ID: 9698388a0709
Revises: 90d46abd44a3
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9698388a0709"
down_revision: str | None = "90d46abd44a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("Triggers") as batch:
        batch.add_column(sa.Column("git_branch", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("Triggers") as batch:
        batch.drop_column("git_branch")

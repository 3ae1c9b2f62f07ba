"""openorch: the audit trail, who did what (issue 30).

Revision ID: 0d1fa1e5c001
Revises: 0d1aa1e5c001

Additive only, so the original OpenOrchestrator keeps working on the database:
- Audit_Trail: one row per write made in the Orchestrator or through the HTTP API
  (who, what, which object, before and after with secrets masked, when), indexed by
  time and by object.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0d1fa1e5c001"
down_revision: str | None = "0d1da1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "Audit_Trail",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_method", sa.String(20), nullable=False),
        sa.Column("actor_role", sa.String(20), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("object_kind", sa.String(50), nullable=False),
        sa.Column("object_id", sa.String(200), nullable=True),
        sa.Column("object_name", sa.String(400), nullable=True),
        sa.Column("summary", sa.String(1000), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
    )
    op.create_index("ix_Audit_Trail_at", "Audit_Trail", ["at"])
    op.create_index("ix_Audit_Trail_object", "Audit_Trail", ["object_kind", "object_id"])


def downgrade() -> None:
    op.drop_index("ix_Audit_Trail_object", table_name="Audit_Trail")
    op.drop_index("ix_Audit_Trail_at", table_name="Audit_Trail")
    op.drop_table("Audit_Trail")

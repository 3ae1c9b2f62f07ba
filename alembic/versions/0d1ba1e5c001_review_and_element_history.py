"""openorch: the review inbox and the history of every queue element (issue 27).

Revision ID: 0d1ba1e5c001
Revises: 0d1aa1e5c001

Additive only, so the original OpenOrchestrator keeps working on the database (an
element waiting for review is a FAILED row of `Queues` to it):
- Queue_Reviews (one row per element sent to review, open or decided);
- Queue_Element_History (append-only events of each element);
- Queue_Settings.review_business, review_exhausted (nullable; NULL = the defaults:
  business failures go to review, exhausted application retries do not).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0d1ba1e5c001"
down_revision: str | None = "0d1aa1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "Queue_Reviews",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("element_id", sa.Uuid(), nullable=False),
        sa.Column("queue_name", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_date", sa.DateTime(), nullable=False),
        sa.Column("assignee", sa.String(100), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("decision", sa.String(20), nullable=True),
        sa.Column("comment", sa.String(1000), nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_date", sa.DateTime(), nullable=True),
        sa.Column("form", sa.Text(), nullable=True),
        sa.Column("form_values", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_Queue_Reviews_state_created_date", "Queue_Reviews", ["state", "created_date"]
    )
    op.create_index("ix_Queue_Reviews_element_id", "Queue_Reviews", ["element_id"])
    op.create_table(
        "Queue_Element_History",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("element_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_Queue_Element_History_element_id_at", "Queue_Element_History", ["element_id", "at"]
    )
    with op.batch_alter_table("Queue_Settings") as batch:
        batch.add_column(sa.Column("review_business", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("review_exhausted", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("Queue_Settings") as batch:
        batch.drop_column("review_exhausted")
        batch.drop_column("review_business")
    op.drop_index("ix_Queue_Element_History_element_id_at", "Queue_Element_History")
    op.drop_table("Queue_Element_History")
    op.drop_index("ix_Queue_Reviews_element_id", "Queue_Reviews")
    op.drop_index("ix_Queue_Reviews_state_created_date", "Queue_Reviews")
    op.drop_table("Queue_Reviews")

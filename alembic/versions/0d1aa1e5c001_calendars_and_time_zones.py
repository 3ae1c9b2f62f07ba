"""openorch: time zones and business calendars for triggers (issue 28).

Revision ID: 0d1aa1e5c001
Revises: 0d19a1e5c001

Additive only, so the original OpenOrchestrator keeps working on the database:
- Scheduled_Triggers.time_zone, calendar_id, calendar_rule (nullable; NULL = the
  original's behaviour: cron in the machine's local time, no calendar);
- Queue_Triggers.window_start, window_end, time_zone, calendar_id (nullable; NULL = start
  at any time, as the original);
- Calendars and CalendarDays (named sets of non-working days).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0d1aa1e5c001"
down_revision: str | None = "0d19a1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("Scheduled_Triggers") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(64), nullable=True))
        batch.add_column(sa.Column("calendar_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("calendar_rule", sa.String(12), nullable=True))
    with op.batch_alter_table("Queue_Triggers") as batch:
        batch.add_column(sa.Column("window_start", sa.String(5), nullable=True))
        batch.add_column(sa.Column("window_end", sa.String(5), nullable=True))
        batch.add_column(sa.Column("time_zone", sa.String(64), nullable=True))
        batch.add_column(sa.Column("calendar_id", sa.Uuid(), nullable=True))
    op.create_table(
        "Calendars",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("country", sa.String(10), nullable=True),
        sa.Column("subdivision", sa.String(20), nullable=True),
        sa.Column("years", sa.String(100), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "CalendarDays",
        sa.Column(
            "calendar_id",
            sa.Uuid(),
            sa.ForeignKey("Calendars.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("description", sa.String(200), nullable=True),
        sa.Column("source", sa.String(10), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("CalendarDays")
    op.drop_table("Calendars")
    with op.batch_alter_table("Queue_Triggers") as batch:
        for column in ("calendar_id", "time_zone", "window_end", "window_start"):
            batch.drop_column(column)
    with op.batch_alter_table("Scheduled_Triggers") as batch:
        for column in ("calendar_rule", "calendar_id", "time_zone"):
            batch.drop_column(column)

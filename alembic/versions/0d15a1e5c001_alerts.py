"""openorch alerts: channels, rules, recipients, alerts, deliveries, the watchdog
lease.

Revision ID: 0d15a1e5c001
Revises: 0d17a1e5c001

Additive only (new tables and two indexes), so the original OpenOrchestrator keeps
working on the database.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0d15a1e5c001"
down_revision: str | None = "0d17a1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_Jobs_status_end_time": ("Jobs", ["status", "end_time"]),
    # Queues(status, end_date, ...) comes with the Overview's indexes (0d18a1e5c001), whose
    # prefix serves the watchdog's "failed or abandoned in the last hour" too.
}


def upgrade() -> None:
    op.create_table(
        "Alert_Channels",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("smtp_host", sa.String(250), nullable=True),
        sa.Column("smtp_port", sa.Integer(), nullable=True),
        sa.Column("smtp_security", sa.String(10), nullable=True),
        sa.Column("credential_name", sa.String(100), nullable=True),
        sa.Column("sender", sa.String(250), nullable=True),
        sa.Column("recipients", sa.String(1000), nullable=True),
        sa.Column("webhook_url", sa.String(4000), nullable=True),
        sa.Column("webhook_format", sa.String(10), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "Alert_Rules",
        sa.Column("kind", sa.String(30), primary_key=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("reminder_minutes", sa.Integer(), nullable=True),
        sa.Column("notify_recovered", sa.Boolean(), nullable=False),
        sa.Column("recipients", sa.String(1000), nullable=True),
        sa.Column("channels", sa.String(1000), nullable=True),
        sa.Column("enabled_at", sa.DateTime(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "Alert_Recipients",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("recipients", sa.String(1000), nullable=False),
        sa.UniqueConstraint("scope", "name", name="uq_Alert_Recipients_scope_name"),
    )
    op.create_table(
        "Alerts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("rule", sa.String(30), nullable=False),
        sa.Column("subject", sa.String(250), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(250), nullable=False),
        sa.Column("body", sa.String(8000), nullable=False),
        sa.Column("recipients", sa.String(1000), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attachment", sa.LargeBinary(), nullable=True),
        sa.Column("attachment_name", sa.String(250), nullable=True),
        sa.UniqueConstraint("rule", "subject", "episode", name="uq_Alerts_rule_subject_episode"),
    )
    op.create_index("ix_Alerts_subject", "Alerts", ["subject"])
    op.create_index("ix_Alerts_closed_at_rule", "Alerts", ["closed_at", "rule"])
    op.create_index("ix_Alerts_opened_at", "Alerts", ["opened_at"])
    op.create_table(
        "Alert_Deliveries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("channel_name", sa.String(100), nullable=False),
        sa.Column("message", sa.String(10), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.UniqueConstraint(
            "alert_id", "channel_name", "message", name="uq_Alert_Deliveries_alert_channel_message"
        ),
    )
    op.create_index(
        "ix_Alert_Deliveries_state_next_attempt_at",
        "Alert_Deliveries",
        ["state", "next_attempt_at"],
    )
    op.create_table(
        "Watchdog_Leases",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
    for table in ("Watchdog_Leases", "Alert_Deliveries", "Alerts", "Alert_Recipients",
                  "Alert_Rules", "Alert_Channels"):
        op.drop_table(table)

"""openorch: run outcomes on jobs, and the HTTP API's tables.

Revision ID: 0d16a1e5c001
Revises: a3f1c0de0001

Additive only, so the original OpenOrchestrator keeps working on the database:
- Jobs.outcome, outcome_message, outcome_data, outcome_time, correlation_id (nullable;
  what a process reported with report_completion/report_failure, and the caller's id);
- ApiTokens (bearer tokens, stored as SHA-256 hashes), ApiAudit (every API write),
  RunRequests (a trigger to run now, begun by a Scheduler).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0d16a1e5c001"
down_revision: str | None = "a3f1c0de0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("Jobs") as batch:
        batch.add_column(sa.Column("outcome", sa.String(9), nullable=True))
        batch.add_column(sa.Column("outcome_message", sa.String(2000), nullable=True))
        batch.add_column(sa.Column("outcome_data", sa.Text(), nullable=True))
        batch.add_column(sa.Column("outcome_time", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("correlation_id", sa.String(100), nullable=True))
    op.create_index("ix_Jobs_correlation_id", "Jobs", ["correlation_id"])

    op.create_table(
        "ApiTokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "ApiAudit",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("time", sa.DateTime(), nullable=False),
        sa.Column("token_name", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("detail", sa.String(1000), nullable=True),
    )
    op.create_index("ix_ApiAudit_time", "ApiAudit", ["time"])
    op.create_table(
        "RunRequests",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("trigger_id", sa.Uuid(), nullable=False),
        sa.Column("process_args", sa.String(1000), nullable=True),
        sa.Column("correlation_id", sa.String(100), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(9), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("scheduler_name", sa.String(100), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("message", sa.String(1000), nullable=True),
    )
    op.create_index(
        "ix_RunRequests_status_requested_at", "RunRequests", ["status", "requested_at"]
    )
    op.create_index("ix_RunRequests_correlation_id", "RunRequests", ["correlation_id"])


def downgrade() -> None:
    op.drop_index("ix_RunRequests_correlation_id", table_name="RunRequests")
    op.drop_index("ix_RunRequests_status_requested_at", table_name="RunRequests")
    op.drop_table("RunRequests")
    op.drop_index("ix_ApiAudit_time", table_name="ApiAudit")
    op.drop_table("ApiAudit")
    op.drop_table("ApiTokens")
    op.drop_index("ix_Jobs_correlation_id", table_name="Jobs")
    with op.batch_alter_table("Jobs") as batch:
        for column in ("correlation_id", "outcome_time", "outcome_data", "outcome_message",
                       "outcome"):
            batch.drop_column(column)

"""openorch: the host and pid of the run that holds a Scheduler name.

Revision ID: 0d19a1e5c001
Revises: 0d18a1e5c001

Additive only (two nullable columns the original OpenOrchestrator never reads or writes,
so it keeps working on the database):
- Schedulers.run_host: the machine the run that owns the name runs on;
- Schedulers.run_pid: that run's process id there.
A Scheduler starting under a name whose run is alive is refused, and on the same host
"alive" includes "that pid still runs" (see openorch.store.runs.schedulers.run_holds_name).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0d19a1e5c001"
down_revision: str | None = "0d18a1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("Schedulers") as batch:
        batch.add_column(sa.Column("run_host", sa.String(255), nullable=True))
        batch.add_column(sa.Column("run_pid", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("Schedulers") as batch:
        batch.drop_column("run_pid")
        batch.drop_column("run_host")

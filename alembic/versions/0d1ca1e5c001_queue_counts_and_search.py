"""openorch: maintained queue counts and an index for substring search (issue 31).

Revision ID: 0d1ca1e5c001
Revises: 0d1aa1e5c001

Additive only, so the original OpenOrchestrator keeps working on the database (its
writes to `Queues` fire the same triggers, which keep the new objects exact):
- Queue_Counts: (queue_name, status, delta) rows written by triggers on `Queues`, summed
  on read (store/queues/counts.py); backfilled here from the existing elements;
- substring search: on PostgreSQL the pg_trgm extension and a side table Queue_Search
  (GIN index ix_Queue_Search_trgm) kept by triggers (store/queues/search.py); on SQLite the
  FTS5 trigram index is opt-in (`Store.rebuild_search_index()`, see
  search.SQLITE_OPT_IN). Where the index cannot be made (no pg_trgm, SQL Server) the
  upgrade says so and search stays the plain LIKE.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from openorch.store.queues import counts as queue_counts, search

revision: str = "0d1ca1e5c001"
down_revision: str | None = "0d1ba1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("openorch.migrate")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        queue_counts.COUNTS_TABLE,
        sa.Column("queue_name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(11), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
    )
    # Triggers first, then the backfill, in one transaction: writers wait for the
    # triggers' lock, so no element is counted twice or missed.
    for statement in queue_counts.trigger_ddl(dialect):
        op.execute(statement)
    op.execute(queue_counts.backfill_sql(dialect))
    if dialect == "sqlite":  # opt-in there: see search.SQLITE_OPT_IN
        log.info(search.SQLITE_OPT_IN)
        return
    if context.is_offline_mode():  # SQL scripts (SQL Server's, by hand): no probing
        for statement in search.offline_ddl(dialect):
            op.execute(statement)
        return
    problem = search.install(op.get_bind())
    if problem:
        log.warning(problem)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if not context.is_offline_mode():
        search.uninstall(op.get_bind())
    for statement in queue_counts.drop_ddl(dialect):
        op.execute(statement)
    op.drop_table(queue_counts.COUNTS_TABLE)

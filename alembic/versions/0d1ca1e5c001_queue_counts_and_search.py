"""openorch: maintained queue counts and an index for substring search (issue 31).

Revision ID: 0d1ca1e5c001
Revises: 0d1aa1e5c001

Additive only, so the original OpenOrchestrator keeps working on the database (its
writes to `Queues` fire the same triggers, which keep the new objects exact):
- Queue_Counts: (queue_name, status, delta) rows written by triggers on `Queues`, summed
  on read (store/queue_counts.py); backfilled here from the existing elements;
- substring search: on PostgreSQL the pg_trgm extension and a GIN index
  ix_Queues_search_trgm; on SQLite 3.34+ an FTS5 trigram table Queue_Search kept by
  triggers (store/search.py). Where that cannot be made (no pg_trgm, an older SQLite,
  SQL Server) the upgrade says so and search stays the plain LIKE.
"""

import logging
from collections.abc import Sequence

from alembic import op

from openorch.store import queue_counts, search

revision: str = "0d1ca1e5c001"
down_revision: str | None = "0d1aa1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("openorch.migrate")


def upgrade() -> None:
    connection = op.get_bind()
    queue_counts.install(connection)
    problem = search.install(connection)
    if problem:
        log.warning(problem)


def downgrade() -> None:
    connection = op.get_bind()
    search.uninstall(connection)
    queue_counts.uninstall(connection)

"""openorch: PostgreSQL's search index kept in the background (issue 31).

Revision ID: 0d20a1e5c001
Revises: 0d1fa1e5c001

Additive only, so the original OpenOrchestrator keeps working on the database:
- Queue_Search_Pending: which elements were written since their search documents were
  last made; the triggers on `Queues` now only note them there (one row per statement),
  and the Scheduler holding the watchdog lease makes the documents and trigram entries
  in batches (store/queues/search.py). Making them in the writer's transaction doubled
  the time of a bulk create. The documents already in Queue_Search stay as they are.
- SQLite (its opt-in index) and SQL Server (no index) are unchanged.

The downgrade makes every pending document first, then puts back the triggers of
0d1ca1e5c001, which make them in the writer's transaction.
"""

import logging
from collections.abc import Sequence

from alembic import context, op

from openorch.store.queues import search

revision: str = "0d20a1e5c001"
down_revision: str | None = "0d1fa1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("openorch.migrate")

#: 0d1ca1e5c001's trigger functions, as that revision made them (for the downgrade).
_WRITER_TRANSACTION_FUNCTIONS = (
    f"""CREATE OR REPLACE FUNCTION openorch_queue_search_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "Queue_Search" (id, document)
  SELECT id, {search.PG_DOCUMENT.format(row="")} FROM queue_search_new
  WHERE COALESCE(reference, data, message) IS NOT NULL;
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION openorch_queue_search_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "Queue_Search" s USING queue_search_old o WHERE s.id = o.id;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION openorch_queue_search_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "Queue_Search" WHERE id = OLD.id;
  IF COALESCE(NEW.reference, NEW.data, NEW.message) IS NOT NULL THEN
    INSERT INTO "Queue_Search" (id, document) VALUES (NEW.id, {search.PG_DOCUMENT.format(row="NEW.")});
  END IF;
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION openorch_queue_search_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "Queue_Search";
  RETURN NULL;
END $$""",
)


def _has_side_table() -> bool:
    return bool(op.get_bind().exec_driver_sql("SELECT to_regclass('\"Queue_Search\"')").scalar())


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect != "postgresql":
        return
    if context.is_offline_mode():
        for statement in search.schema_ddl(dialect):
            op.execute(statement)
        return
    if not _has_side_table():  # no pg_trgm when 0d1ca1e5c001 ran: still none
        return
    for statement in search.schema_ddl(dialect):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect != "postgresql" or context.is_offline_mode():
        return
    connection = op.get_bind()
    if not connection.exec_driver_sql(f"SELECT to_regclass('\"{search.PG_PENDING}\"')").scalar():
        return
    while search.index_backlog(connection, limit=100_000):
        pass
    for statement in _WRITER_TRANSACTION_FUNCTIONS:
        op.execute(statement)
    op.execute(f'DROP TABLE "{search.PG_PENDING}"')

"""openorch: PostgreSQL's search index per queue, kept in the background (issue 31).

Revision ID: 0d20a1e5c001
Revises: 0d1fa1e5c001

Additive only, so the original OpenOrchestrator keeps working on the database (it never
reads these tables):
- `Queue_Search` gets the element's queue, and its GIN index becomes
  `ix_Queue_Search_queue_trgm` on (queue_name, document trigrams) (extension btree_gin):
  a search reads only its queue's candidates. The old table is dropped and every
  element with text is noted for indexing; the Scheduler holding the watchdog lease makes
  the documents in the background (searches stay exact meanwhile: they read the noted
  elements too, and the whole queue while more than 50,000 wait). So the upgrade takes
  seconds, not the minutes that building the index took at 10,000,000 elements.
- Queue_Search_Pending: which elements were written since their documents were made;
  the triggers on `Queues` now only note them there (one row per statement). Making
  documents in the writer's transaction doubled the time of a bulk create.
- Where btree_gin cannot be made, the search index is removed and search is the plain
  LIKE (said in the log; `openorch search-index` makes it once the extension is there).
- SQLite's opt-in FTS5 index, where an admin made it, is made again with the queue's
  column (detail='column', so a search can filter by queue), in the upgrade. SQL Server
  (no index) is unchanged.

The downgrade puts back 0d1ca1e5c001's table, index and triggers, and makes every
document in one go, as that revision did.
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

#: 0d1ca1e5c001's search objects, as that revision made them (for the downgrade).
_REVISION_0D1CA = (
    'CREATE TABLE "Queue_Search" (id UUID PRIMARY KEY, document TEXT NOT NULL)',
    'CREATE INDEX "ix_Queue_Search_trgm" ON "Queue_Search" USING gin (document gin_trgm_ops)',
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
    """CREATE TRIGGER queue_search_insert AFTER INSERT ON "Queues"
REFERENCING NEW TABLE AS queue_search_new
FOR EACH STATEMENT EXECUTE PROCEDURE openorch_queue_search_insert()""",
    """CREATE TRIGGER queue_search_delete AFTER DELETE ON "Queues"
REFERENCING OLD TABLE AS queue_search_old
FOR EACH STATEMENT EXECUTE PROCEDURE openorch_queue_search_delete()""",
    """CREATE TRIGGER queue_search_update AFTER UPDATE OF reference, data, message, id
ON "Queues" FOR EACH ROW
WHEN (OLD.reference IS DISTINCT FROM NEW.reference OR OLD.data IS DISTINCT FROM NEW.data
  OR OLD.message IS DISTINCT FROM NEW.message OR OLD.id IS DISTINCT FROM NEW.id)
EXECUTE PROCEDURE openorch_queue_search_update()""",
    """CREATE TRIGGER queue_search_truncate AFTER TRUNCATE ON "Queues"
FOR EACH STATEMENT EXECUTE PROCEDURE openorch_queue_search_truncate()""",
    f"""INSERT INTO "Queue_Search" (id, document)
SELECT id, {search.PG_DOCUMENT.format(row="")} FROM "Queues"
WHERE COALESCE(reference, data, message) IS NOT NULL""",
)

#: Every element with text, noted for the background indexer in parts of its batch size.
_NOTE_EVERY_ELEMENT = f"""INSERT INTO "{search.PENDING_TABLE}" (n, ids)
SELECT count(*), array_agg(id) FROM (
  SELECT id, (row_number() OVER ()) / {search.INDEX_BATCH} AS part FROM "Queues"
  WHERE COALESCE(reference, data, message) IS NOT NULL
) numbered GROUP BY part ORDER BY part"""


def _has_column(table: str, column: str) -> bool:
    return bool(
        op.get_bind()
        .exec_driver_sql(
            "SELECT 1 FROM information_schema.columns WHERE table_name = %(table)s "
            "AND column_name = %(column)s AND table_schema = ANY (current_schemas(false))",
            {"table": table, "column": column},
        )
        .first()
    )


def _remake_sqlite_index() -> None:
    """SQLite's opt-in index, where an admin made it: remade with the queue's column
    (writers wait while it is rebuilt: about 100 s at 10,000,000 elements)."""
    connection = op.get_bind()
    found = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'Queue_Search'"
    ).scalar()
    if found is None or "queue_name" in found:
        return
    log.info("Remaking SQLite's search index with the queue's column (one pass over Queues).")
    search.uninstall(connection)
    problem = search.install(connection)
    if problem:
        log.warning(problem)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite" and not context.is_offline_mode():
        _remake_sqlite_index()
    if dialect != "postgresql":
        return
    if context.is_offline_mode():  # a script: made as a fresh install makes it
        op.execute('DROP TABLE IF EXISTS "Queue_Search"')
        for statement in search.offline_ddl(dialect):
            op.execute(statement)
        return
    connection = op.get_bind()
    if not connection.exec_driver_sql("SELECT to_regclass('\"Queue_Search\"')").scalar():
        return  # no pg_trgm when 0d1ca1e5c001 ran: still none (`openorch search-index`)
    if _has_column("Queue_Search", "queue_name"):
        for statement in search.schema_ddl(dialect):  # made by this code already
            op.execute(statement)
        return
    problem = search.create_extensions(connection)
    if problem:
        search.uninstall(connection)
        log.warning(problem)
        return
    op.execute('DROP TABLE "Queue_Search"')
    for statement in search.schema_ddl(dialect):
        op.execute(statement)
    op.execute(_NOTE_EVERY_ELEMENT)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    # SQLite's index with the queue's column stays: 0d1ca1e5c001's code queries it
    # without column filters, which it answers as before.
    if dialect != "postgresql" or context.is_offline_mode():
        return
    connection = op.get_bind()
    if not connection.exec_driver_sql(f"SELECT to_regclass('\"{search.PENDING_TABLE}\"')").scalar():
        return
    search.uninstall(connection)
    for statement in _REVISION_0D1CA:
        op.execute(statement)

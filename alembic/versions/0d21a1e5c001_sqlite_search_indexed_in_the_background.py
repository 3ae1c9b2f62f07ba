"""openorch: SQLite's opt-in search index kept in the background (issue 31).

Revision ID: 0d21a1e5c001
Revises: 0d20a1e5c001

Only where an admin made SQLite's opt-in FTS5 index (`openorch search-index`); every
other database is unchanged. Additive for the original OpenOrchestrator (it never reads
these objects; its writes to `Queues` fire the triggers like anyone's):
- Queue_Search_Pending: which rows were written since the index last saw them, with the
  text a changed row was indexed with (removing its entries needs it).
- The three triggers on `Queues` now only note rows there; the Scheduler holding the
  watchdog lease updates the FTS table afterwards. Tokenising in the writer's
  transaction made a bulk create 7.5 times as slow. The FTS table itself is kept as it
  is (it is up to date: the old triggers kept it in every write), so the upgrade takes
  a moment at any size.

The downgrade indexes whatever is still noted, then puts back 0d20a1e5c001's triggers,
which tokenise in the writer's transaction.
"""

from collections.abc import Sequence

from alembic import context, op

from openorch.store.queues import search

revision: str = "0d21a1e5c001"
down_revision: str | None = "0d20a1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: 0d20a1e5c001's triggers, as that revision made them (for the downgrade).
_REVISION_0D20 = (
    """CREATE TRIGGER queue_search_insert AFTER INSERT ON "Queues"
BEGIN
  INSERT INTO "Queue_Search" (rowid, queue_name, reference, data, message)
  VALUES (NEW.rowid, NEW.queue_name, NEW.reference, NEW.data, NEW.message);
END""",
    """CREATE TRIGGER queue_search_delete AFTER DELETE ON "Queues"
BEGIN
  INSERT INTO "Queue_Search" ("Queue_Search", rowid, queue_name, reference, data, message)
  VALUES ('delete', OLD.rowid, OLD.queue_name, OLD.reference, OLD.data, OLD.message);
END""",
    """CREATE TRIGGER queue_search_update
AFTER UPDATE OF queue_name, reference, data, message ON "Queues"
WHEN OLD.queue_name IS NOT NEW.queue_name OR OLD.reference IS NOT NEW.reference
  OR OLD.data IS NOT NEW.data OR OLD.message IS NOT NEW.message
BEGIN
  INSERT INTO "Queue_Search" ("Queue_Search", rowid, queue_name, reference, data, message)
  VALUES ('delete', OLD.rowid, OLD.queue_name, OLD.reference, OLD.data, OLD.message);
  INSERT INTO "Queue_Search" (rowid, queue_name, reference, data, message)
  VALUES (NEW.rowid, NEW.queue_name, NEW.reference, NEW.data, NEW.message);
END""",
)


def _exists(name: str) -> bool:
    found = op.get_bind().exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    )
    return found.first() is not None


def _drop_triggers() -> None:
    for name in search.sqlite_triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite" or context.is_offline_mode():
        return
    if not _exists(search.SQLITE_TABLE) or _exists(search.PENDING_TABLE):
        return  # no opt-in index, or made by this code already (0d20a1e5c001's remake)
    _drop_triggers()
    for statement in search.schema_ddl("sqlite"):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite" or context.is_offline_mode():
        return
    if not _exists(search.PENDING_TABLE):
        return
    connection = op.get_bind()
    while search.index_backlog(connection, search.INDEX_BATCH):
        pass
    _drop_triggers()
    op.execute(f'DROP TABLE "{search.PENDING_TABLE}"')
    for statement in _REVISION_0D20:
        op.execute(statement)

"""Substring search over queue elements (`search_term`) served by an index.

The search's meaning never changes: an element matches when its reference starts with
the term or its data or message contains it, exactly as `LIKE 'term%'` / `LIKE
'%term%'` on the backend (SQLite: ASCII letters match either case; PostgreSQL: case
counts). A B-tree cannot serve `LIKE '%term%'`, so without more the search reads every
element of the queue. An index of trigrams (every three consecutive characters) can:

- PostgreSQL: `pg_trgm` and `btree_gin`, and a side table `Queue_Search (id,
  queue_name, document)` holding reference, data and message joined, with a GIN index on
  the queue and the document's trigrams (`ix_Queue_Search_queue_trgm`). Writers' triggers
  only note which elements changed (`Queue_Search_Pending`); the watchdog's lease holder
  makes their documents later (`index_backlog`). A search adds `id IN (SELECT id FROM
  Queue_Search WHERE queue_name = 'q' AND document LIKE '%term%' UNION ALL every pending
  id)`. Why a side table and not an index on `Queues`, and why in the background: see
  `_PG_SCHEMA`.
- SQLite (3.34 and later), **opt-in** (`Store.rebuild_search_index()`, `openorch
  search-index`; the upgrade does not add it): an FTS5 table with the trigram tokenizer
  (`Queue_Search`) that indexes the queue name and the same three columns of `Queues`
  (external content: it stores no copy); a search asks for its queue's trigrams in the
  queue's column. Indexed in the background too: row triggers note which rows changed
  (`Queue_Search_Pending`, with the text a changed row was indexed with, which removing
  its entries needs), so rows the original or raw SQL write are noted too, and the lease
  holder updates the FTS table later (`index_backlog`, small batches with pauses: SQLite
  has one write lock). Tokenising in the writer's transaction made a bulk create 7.5x
  as slow (docs/benchmarks.md); a large bulk create now notes its rows in one statement
  (store/queues/bulk_triggers.py). A search adds `rowid IN (SELECT rowid FROM
  Queue_Search WHERE Queue_Search MATCH 'queue_name : ("q00") AND {reference data
  message} : ("777")' UNION ALL every pending rowid)` (see `trigram_query`).
- SQL Server: nothing. Its full-text search matches words and prefixes, never infixes,
  so it cannot answer `LIKE '%term%'`; the search stays a scan there.

The index only narrows: the exact LIKE condition is always applied as well, so its
results are the plain LIKE's, whatever the index's case folding. Terms shorter than
`MIN_TERM` characters have no trigram and use the plain LIKE; so does a database where
the index could not be made (no `pg_trgm` or `btree_gin`, an old SQLite), said once in
the log.

SQLite's FTS table (and its pending notes) refers to `Queues` rows by rowid, which
`VACUUM` may renumber (the table's key is a UUID); openorch never runs VACUUM. After one
run by hand, `rebuild_search_index()` (`openorch search-index --rebuild`) rebuilds the
index from the rows.
"""

import logging
import time
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal_column, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from openorch.database import QueueElement
from openorch.store import validation as v
from openorch.store.core import StoreCore

log = logging.getLogger(__name__)

#: Why the upgrade leaves SQLite's index out (said in its log; docs/database.md).
SQLITE_OPT_IN = (
    "SQLite: substring search uses plain LIKE. `openorch search-index` adds a trigram "
    "index (FTS5): searches of big queues become fast, and the database file grows by "
    "the index (the Scheduler holding the watchdog lease keeps it up to date)."
)

#: Shortest term the trigram index can answer (shorter ones use the plain LIKE).
MIN_TERM = 3

#: SQLite's trigram tokenizer arrived in 3.34.0.
SQLITE_TRIGRAM_VERSION = (3, 34, 0)

#: The GIN index on (queue, trigrams); revisions 0d1ca1e5c001 to 0d1fa1e5c001 had
#: `ix_Queue_Search_trgm` on the trigrams alone.
PG_INDEX = "ix_Queue_Search_queue_trgm"

#: Extensions the PostgreSQL index needs (both in the contrib package, both trusted
#: since PostgreSQL 13: a database owner may create them).
PG_EXTENSIONS = ("pg_trgm", "btree_gin")
#: Which elements were written since the index last saw them (see `_PG_SCHEMA` and
#: `_SQLITE_SCHEMA`: one table name, a layout per backend).
PENDING_TABLE = "Queue_Search_Pending"
SQLITE_TABLE = "Queue_Search"

#: The text PostgreSQL indexes per element (in the side table `Queue_Search`): reference,
#: data and message joined; NULLs become '' so one missing column keeps the rest.
PG_DOCUMENT = (
    "(COALESCE({row}reference, '') || ' ' || COALESCE({row}data, '') || ' ' "
    "|| COALESCE({row}message, ''))"
)

#: PostgreSQL: a side table, so claims (which change status, start and job, never the
#: text) touch no trigram index: an index on `Queues` itself would get new entries on
#: every claim (a status change is no HOT update), measured as twice the WAL per claim.
#:
#: Indexed in the background: a write to `Queues` only notes which elements changed, in
#: `Queue_Search_Pending` (one row per statement, the ids as an array: a bulk create of
#: 100,000 elements adds one row); `index_backlog` later makes their documents and trigram
#: entries. Making them inside the writer's transaction doubled the time of a bulk create
#: (docs/benchmarks.md). A search reads the index *and* every pending element, so it finds
#: the same elements at any moment; see `prefilter`.
_PG_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS "Queue_Search" (
  id UUID PRIMARY KEY, queue_name VARCHAR(100), document TEXT NOT NULL)""",
    # `gone`: deleted elements, whose documents only need removing; a search cannot find
    # them anyway, so they neither count towards PENDING_LIMIT nor are looked up.
    f"""CREATE TABLE IF NOT EXISTS "{PENDING_TABLE}" (
  id BIGSERIAL PRIMARY KEY, n INTEGER NOT NULL, ids UUID[] NOT NULL,
  gone BOOLEAN NOT NULL DEFAULT false)""",
    # Random UUIDs do not compress: skip trying on every bulk create's array.
    f'ALTER TABLE "{PENDING_TABLE}" ALTER COLUMN ids SET STORAGE EXTERNAL',
    f"""CREATE OR REPLACE FUNCTION openorch_queue_search_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "{PENDING_TABLE}" (n, ids)
  SELECT count(*), array_agg(id) FROM queue_search_new HAVING count(*) > 0;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION openorch_queue_search_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "{PENDING_TABLE}" (n, ids, gone)
  SELECT count(*), array_agg(id), true FROM queue_search_old HAVING count(*) > 0;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION openorch_queue_search_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.id IS DISTINCT FROM NEW.id THEN
    INSERT INTO "{PENDING_TABLE}" (n, ids, gone) VALUES (1, ARRAY[OLD.id], true);
  END IF;
  INSERT INTO "{PENDING_TABLE}" (n, ids) VALUES (1, ARRAY[NEW.id]);
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION openorch_queue_search_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "Queue_Search";
  DELETE FROM "{PENDING_TABLE}";
  RETURN NULL;
END $$""",
    'DROP TRIGGER IF EXISTS queue_search_insert ON "Queues"',
    """CREATE TRIGGER queue_search_insert AFTER INSERT ON "Queues"
REFERENCING NEW TABLE AS queue_search_new
FOR EACH STATEMENT EXECUTE PROCEDURE openorch_queue_search_insert()""",
    'DROP TRIGGER IF EXISTS queue_search_delete ON "Queues"',
    """CREATE TRIGGER queue_search_delete AFTER DELETE ON "Queues"
REFERENCING OLD TABLE AS queue_search_old
FOR EACH STATEMENT EXECUTE PROCEDURE openorch_queue_search_delete()""",
    'DROP TRIGGER IF EXISTS queue_search_update ON "Queues"',
    """CREATE TRIGGER queue_search_update
AFTER UPDATE OF reference, data, message, id, queue_name ON "Queues" FOR EACH ROW
WHEN (OLD.reference IS DISTINCT FROM NEW.reference OR OLD.data IS DISTINCT FROM NEW.data
  OR OLD.message IS DISTINCT FROM NEW.message OR OLD.id IS DISTINCT FROM NEW.id
  OR OLD.queue_name IS DISTINCT FROM NEW.queue_name)
EXECUTE PROCEDURE openorch_queue_search_update()""",
    'DROP TRIGGER IF EXISTS queue_search_truncate ON "Queues"',
    """CREATE TRIGGER queue_search_truncate AFTER TRUNCATE ON "Queues"
FOR EACH STATEMENT EXECUTE PROCEDURE openorch_queue_search_truncate()""",
)

#: The queue first (btree_gin): a search is always within one queue, and a term made of
#: common trigrams (`77777` has only `777`) then reads that queue's candidates only.
_PG_INDEX_DDL = f"""CREATE INDEX IF NOT EXISTS "{PG_INDEX}" ON "Queue_Search"
USING gin (queue_name, document gin_trgm_ops)"""

#: A GIN index built over rows already there is several times faster than one filled
#: row by row, more so with room to sort (the default is 64 MB).
_PG_BUILD_MEMORY = "SET LOCAL maintenance_work_mem = '256MB'"

#: The documents of every element already there (made once, when the index is made).
_PG_BACKFILL = f"""INSERT INTO "Queue_Search" (id, queue_name, document)
SELECT id, queue_name, {PG_DOCUMENT.format(row="")} FROM "Queues"
WHERE COALESCE(reference, data, message) IS NOT NULL
ON CONFLICT (id) DO NOTHING"""

#: Everything, in the order that suits a table already full: the triggers first (from
#: then on writers wait for this transaction), the documents, then the index over them.
_PG_DDL = (*_PG_SCHEMA, _PG_BACKFILL, _PG_BUILD_MEMORY, _PG_INDEX_DDL)

#: Brings the documents of the given elements (`%(ids)s`) up to date with `Queues` in
#: one pass: made or replaced where the element has text, removed where it has none or
#: is gone.
_PG_REFRESH = f"""WITH element AS MATERIALIZED (
  SELECT p.id, q.id AS found, q.queue_name, {PG_DOCUMENT.format(row="q.")} AS document,
    COALESCE(q.reference, q.data, q.message) IS NOT NULL AS has_text
  FROM unnest(%(ids)s::uuid[]) AS p(id) LEFT JOIN "Queues" q ON q.id = p.id
), gone AS (
  DELETE FROM "Queue_Search" s USING element e
  WHERE s.id = e.id AND (e.found IS NULL OR NOT e.has_text)
)
INSERT INTO "Queue_Search" (id, queue_name, document)
SELECT id, queue_name, document FROM element WHERE found IS NOT NULL AND has_text
ON CONFLICT (id) DO UPDATE SET queue_name = EXCLUDED.queue_name, document = EXCLUDED.document
WHERE ("Queue_Search".queue_name, "Queue_Search".document)
  IS DISTINCT FROM (EXCLUDED.queue_name, EXCLUDED.document)"""

#: A batch is a few thousand primary-key lookups; at a few hundred thousand elements the
#: planner chose to read all of `Queues` for them (hash or merge join), so a batch's
#: time grew with the table. Set for the batch's transaction only.
_PG_LOOKUPS_ONLY = ("SET LOCAL enable_hashjoin = off", "SET LOCAL enable_mergejoin = off")

_PG_TRIGGERS = (
    "queue_search_insert",
    "queue_search_delete",
    "queue_search_update",
    "queue_search_truncate",
)

_PG_DROP = (
    tuple(f'DROP TRIGGER IF EXISTS {name} ON "Queues"' for name in _PG_TRIGGERS)
    + tuple(f"DROP FUNCTION IF EXISTS openorch_{name}()" for name in _PG_TRIGGERS)
    + ('DROP TABLE IF EXISTS "Queue_Search"', f'DROP TABLE IF EXISTS "{PENDING_TABLE}"')
)

#: Every object the search adds (migrations and schema comparisons leave them alone).
SQLITE_SHADOW_TABLES = tuple(
    f"{SQLITE_TABLE}_{suffix}" for suffix in ("data", "idx", "docsize", "config", "content")
)

#: The queue name is indexed too, so a search reads only its queue's candidates (as on
#: PostgreSQL); column filters need `detail='column'` (positions are still not stored).
_SQLITE_FTS = f"""CREATE VIRTUAL TABLE "{SQLITE_TABLE}" USING fts5(
  queue_name, reference, data, message, content='Queues', content_rowid='rowid',
  tokenize='trigram', columnsize=0, detail='column'
)"""

#: SQLite, indexed in the background as on PostgreSQL: the triggers only note which
#: rows changed (`element` is the `Queues` rowid), in the writer's transaction;
#: `index_backlog` updates the FTS table later. Tokenising in the writer's transaction
#: made a bulk create 7.5 times as slow (docs/benchmarks.md).
#:
#: The FTS table stores no copy of the text (external content), and removing a row's
#: entries needs the exact text it was indexed with, which the row no longer has once
#: changed. So the first change of an indexed row since it was indexed keeps that text
#: in its note (`indexed` = 1): later changes leave the note as it is (the index still
#: holds the first text), and a delete only marks it `gone`. A new row's note has no
#: text (`indexed` = 0: nothing to remove). A rowid SQLite gives again after a delete
#: keeps the old note's text (still to be removed) and is no longer gone.
_SQLITE_SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS "{PENDING_TABLE}" (
  element INTEGER PRIMARY KEY, gone INTEGER NOT NULL DEFAULT 0,
  indexed INTEGER NOT NULL DEFAULT 0,
  queue_name TEXT, reference TEXT, data TEXT, message TEXT)""",
    f"""CREATE TRIGGER queue_search_insert AFTER INSERT ON "Queues"
BEGIN
  INSERT INTO "{PENDING_TABLE}" (element) VALUES (NEW.rowid)
  ON CONFLICT (element) DO UPDATE SET gone = 0;
END""",
    f"""CREATE TRIGGER queue_search_delete AFTER DELETE ON "Queues"
BEGIN
  INSERT INTO "{PENDING_TABLE}" (element, gone, indexed, queue_name, reference, data, message)
  VALUES (OLD.rowid, 1, 1, OLD.queue_name, OLD.reference, OLD.data, OLD.message)
  ON CONFLICT (element) DO UPDATE SET gone = 1;
END""",
    f"""CREATE TRIGGER queue_search_update
AFTER UPDATE OF queue_name, reference, data, message ON "Queues"
WHEN OLD.queue_name IS NOT NEW.queue_name OR OLD.reference IS NOT NEW.reference
  OR OLD.data IS NOT NEW.data OR OLD.message IS NOT NEW.message
BEGIN
  INSERT INTO "{PENDING_TABLE}" (element, indexed, queue_name, reference, data, message)
  VALUES (OLD.rowid, 1, OLD.queue_name, OLD.reference, OLD.data, OLD.message)
  ON CONFLICT (element) DO NOTHING;
END""",
)

#: Index every row (the FTS table reads them from `Queues`); nothing is pending after.
_SQLITE_REBUILD = (
    f'DELETE FROM "{PENDING_TABLE}"',
    f"""INSERT INTO "{SQLITE_TABLE}" ("{SQLITE_TABLE}") VALUES ('rebuild')""",
)

_SQLITE_DDL = (_SQLITE_FTS, *_SQLITE_SCHEMA, *_SQLITE_REBUILD)

#: One batch of the SQLite indexer, for the notes up to `:last`: the text each noted row
#: was indexed with out, its text now in (a row that is gone has none).
_SQLITE_REFRESH = (
    f"""INSERT INTO "{SQLITE_TABLE}" ("{SQLITE_TABLE}", rowid, queue_name, reference, data, message)
SELECT 'delete', element, queue_name, reference, data, message FROM "{PENDING_TABLE}"
WHERE element <= :last AND indexed""",
    f"""INSERT INTO "{SQLITE_TABLE}" (rowid, queue_name, reference, data, message)
SELECT q.rowid, q.queue_name, q.reference, q.data, q.message
FROM "{PENDING_TABLE}" p CROSS JOIN "Queues" q ON q.rowid = p.element
WHERE p.element <= :last""",
    f'DELETE FROM "{PENDING_TABLE}" WHERE element <= :last',
)

_SQLITE_TRIGGERS = ("queue_search_insert", "queue_search_delete", "queue_search_update")

_SQLITE_DROP = (
    *(f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_TRIGGERS),
    f'DROP TABLE IF EXISTS "{SQLITE_TABLE}"',
    f'DROP TABLE IF EXISTS "{PENDING_TABLE}"',
)


def sqlite_has_trigram(version: str | None = None) -> bool:
    """True when this SQLite library (or `version`) has FTS5's trigram tokenizer."""
    import sqlite3  # here, not at import: the SDK imports this module

    parts = tuple(int(part) for part in (version or sqlite3.sqlite_version).split(".")[:3])
    return parts >= SQLITE_TRIGRAM_VERSION


def _sqlite_fts5_works(connection: Connection) -> bool:
    try:
        connection.exec_driver_sql(
            "CREATE VIRTUAL TABLE temp.openorch_trigram_probe USING fts5(x, tokenize='trigram')"
        )
        connection.exec_driver_sql("DROP TABLE temp.openorch_trigram_probe")
    except Exception:  # no FTS5 compiled in, or no trigram tokenizer
        return False
    return True


def install(connection: Connection) -> str | None:
    """Create the search index on this backend, in the caller's transaction. Returns
    None when made, else why not (the search then stays the plain LIKE)."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        if not sqlite_has_trigram() or not _sqlite_fts5_works(connection):
            import sqlite3

            return (
                f"SQLite {sqlite3.sqlite_version} has no FTS5 trigram tokenizer "
                f"(3.34 or later needed): substring search uses plain LIKE."
            )
        for statement in _SQLITE_DDL:
            connection.exec_driver_sql(statement)
        return None
    if dialect == "postgresql":
        problem = create_extensions(connection)
        if problem:
            return problem
        for statement in _PG_DDL:
            connection.exec_driver_sql(statement)
        return None
    return (
        f"{dialect}: full-text search cannot match inside words; substring search uses plain LIKE."
    )


def create_extensions(connection: Connection) -> str | None:
    """Create PG_EXTENSIONS where missing; None when there, else why not (nothing is
    left half made: a savepoint)."""
    try:
        with connection.begin_nested():
            for extension in PG_EXTENSIONS:
                connection.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return (
            f"{' and '.join(PG_EXTENSIONS)} could not be created ({first}): substring "
            "search uses plain LIKE."
        )
    return None


def offline_ddl(dialect: str) -> tuple[str, ...]:
    """The statements `install` runs, for an SQL script made without a database
    (nothing on SQL Server, see the module's docstring)."""
    if dialect == "sqlite":
        return _SQLITE_DDL
    if dialect == "postgresql":
        return (*(f"CREATE EXTENSION IF NOT EXISTS {name}" for name in PG_EXTENSIONS), *_PG_DDL)
    return ()


def schema_ddl(dialect: str) -> tuple[str, ...]:
    """The pending table and the triggers that fill it, without the backfill: with
    PostgreSQL's side table and index (idempotent: the migration to background indexing
    runs them on a database that has the index); on SQLite, for an FTS table that is
    there, whose old triggers are dropped first (`sqlite_triggers`)."""
    if dialect == "postgresql":
        return (*_PG_SCHEMA, _PG_INDEX_DDL)
    if dialect == "sqlite":
        return _SQLITE_SCHEMA
    return ()


def sqlite_triggers() -> tuple[str, ...]:
    """The names of SQLite's search triggers (the same in every revision)."""
    return _SQLITE_TRIGGERS


def uninstall(connection: Connection) -> None:
    """Drop the search index (the migration's downgrade; the extension stays)."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_DROP:
            connection.exec_driver_sql(statement)
    elif dialect == "postgresql":
        for statement in _PG_DROP:
            connection.exec_driver_sql(statement)


def search_indexed(connection: Connection) -> bool:
    """True when this database has the search index (and its triggers, on SQLite)."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        # The table with the queue's column (0d1ca1e5c001's, without it, was remade by
        # 0d20a1e5c001), the pending table, and triggers that note (those of revisions
        # before 0d21a1e5c001 tokenised in the writer's transaction; until `openorch
        # upgrade` switches them, the plain LIKE).
        listed = ", ".join(f"'{name}'" for name in _SQLITE_TRIGGERS)
        found = connection.exec_driver_sql(
            "SELECT COUNT(*) FROM sqlite_master WHERE (type = 'table' AND name = ? "
            "AND sql LIKE '%queue_name%') OR (type = 'table' AND name = ?) OR "
            f"(type = 'trigger' AND name IN ({listed}) AND sql LIKE ?)",
            (SQLITE_TABLE, PENDING_TABLE, f"%{PENDING_TABLE}%"),
        ).scalar()
        return int(found or 0) == 2 + len(_SQLITE_TRIGGERS)
    if dialect == "postgresql":
        listed = ", ".join(f"'{name}'" for name in _PG_TRIGGERS)
        found = connection.exec_driver_sql(
            "SELECT (SELECT COUNT(*) FROM pg_indexes WHERE indexname = %(name)s "
            "AND schemaname = ANY (current_schemas(false))) + (SELECT COUNT(*) FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relname = 'Queues' "
            f"AND pg_table_is_visible(c.oid) AND t.tgname IN ({listed})) "
            "+ (to_regclass(%(pending)s) IS NOT NULL)::int",
            {"name": PG_INDEX, "pending": f'"{PENDING_TABLE}"'},
        ).scalar()
        # The pending table too: without it (the index of revision 0d1ca1e5c001, kept in
        # the writer's transaction, before `openorch upgrade`) the search is plain LIKE.
        return int(found or 0) == 2 + len(_PG_TRIGGERS)
    return False


def prefilter(dialect: str, term: str, queue_name: str) -> ColumnElement[bool]:
    """The condition that lets the index narrow a search for `term` in `queue_name`
    (ANDed with the exact condition, which decides). Only for terms of MIN_TERM
    characters or more.

    The elements whose indexed text holds the term, and every element still pending
    (its entry may be missing or stale). A pending note commits with the write it notes
    and is removed only in the transaction that refreshed the entry, so every element is
    at any moment either pending or indexed as it is (PostgreSQL: its document in
    `Queue_Search`; SQLite: its trigrams in the FTS table, by rowid)."""
    if dialect == "postgresql":
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        indexed: Select[Any] = (
            select(literal_column("id"))
            .select_from(text('"Queue_Search"'))
            .where(
                literal_column("queue_name") == bindparam("search_queue", queue_name),
                literal_column("document").like(
                    bindparam("search_pattern", f"%{escaped}%"), escape="\\"
                ),
            )
        )
        pending = (
            select(func.unnest(literal_column("ids")))
            .select_from(text(f'"{PENDING_TABLE}"'))
            .where(text("NOT gone"))
        )
        return literal_column('"Queues".id').in_(indexed.union_all(pending))
    matched: Select[Any] = (
        select(literal_column("rowid"))
        .select_from(text(f'"{SQLITE_TABLE}"'))
        .where(
            text(f'"{SQLITE_TABLE}" MATCH :search_query').bindparams(
                search_query=trigram_query(term, queue_name)
            )
        )
    )
    noted: Select[Any] = select(literal_column("element")).select_from(text(f'"{PENDING_TABLE}"'))
    return literal_column('"Queues".rowid').in_(matched.union_all(noted.where(text("gone = 0"))))


#: Elements one background batch refreshes (one short transaction, ~0.6 s here).
INDEX_BATCH = 20_000

#: SQLite's batches hold its one write lock, which claims wait for: small ones, with a
#: pause as long as the batch after each (measured in docs/benchmarks.md).
SQLITE_INDEX_BATCH = 2_000

#: Above this many pending elements a search leaves the index out and reads the queue
#: with the plain LIKE: looking up every pending element would cost more (it is the
#: state right after a very large bulk create, or with no Scheduler holding the lease).
PENDING_LIMIT = 50_000

#: `pg_try_advisory_xact_lock`'s key: one indexer at a time, so a slower one never
#: writes an older document over a newer one.
_INDEXER_LOCK = "pg_try_advisory_xact_lock(1869770351, 31)"


def _anything_noted(session: Session) -> bool:
    """Whether any note waits for the indexer (a deleted element's included)."""
    return session.execute(text(f'SELECT 1 FROM "{PENDING_TABLE}" LIMIT 1')).first() is not None


def backlog(connection: Connection) -> int:
    """How many elements wait for their documents, deleted ones left out (at most
    PENDING_LIMIT + 1 notes are read, so this stays cheap however large it is)."""
    if connection.dialect.name == "sqlite":
        return int(
            connection.exec_driver_sql(
                f'SELECT count(*) FROM (SELECT 1 FROM "{PENDING_TABLE}" WHERE gone = 0 LIMIT ?)',
                (PENDING_LIMIT + 1,),
            ).scalar()
            or 0
        )
    return int(
        connection.exec_driver_sql(
            f'SELECT COALESCE(sum(n), 0) FROM (SELECT n FROM "{PENDING_TABLE}" WHERE NOT gone '
            "LIMIT %(rows)s) t",
            {"rows": PENDING_LIMIT + 1},
        ).scalar()
        or 0
    )


def index_backlog(connection: Connection, limit: int = INDEX_BATCH) -> int | None:
    """Refresh the documents of up to `limit` pending elements (oldest notes first) and
    remove their notes, in the caller's transaction. Returns how many were refreshed,
    or None when another indexer is at work. A note larger than `limit` (a big bulk
    create) is done in parts: its first `limit` ids, the rest kept for the next batch.
    SQLite: one note per element, the lowest `limit` first (its one writer is the lock)."""
    if connection.dialect.name == "sqlite":
        return _sqlite_index_backlog(connection, limit)
    if not connection.exec_driver_sql(f"SELECT {_INDEXER_LOCK}").scalar():
        return None
    notes = connection.exec_driver_sql(
        f'SELECT id, n FROM "{PENDING_TABLE}" ORDER BY id LIMIT %(rows)s', {"rows": limit}
    ).all()
    if not notes:
        return 0
    first_id, first_n = notes[0]
    if first_n > limit:
        ids = connection.exec_driver_sql(
            f'SELECT ids[1:%(k)s] FROM "{PENDING_TABLE}" WHERE id = %(id)s',
            {"k": limit, "id": first_id},
        ).scalar()
        _refresh(connection, ids or [])
        connection.exec_driver_sql(
            f'UPDATE "{PENDING_TABLE}" SET ids = ids[%(next)s:], n = n - %(k)s WHERE id = %(id)s',
            {"next": limit + 1, "k": limit, "id": first_id},
        )
        return limit
    taken: list[int] = []
    count = 0
    for note_id, n in notes:
        if taken and count + n > limit:
            break
        taken.append(note_id)
        count += n
    ids = connection.exec_driver_sql(
        f'SELECT array_agg(DISTINCT element) FROM "{PENDING_TABLE}", unnest(ids) element '
        "WHERE id = ANY(%(notes)s)",
        {"notes": taken},
    ).scalar()
    _refresh(connection, ids or [])
    connection.exec_driver_sql(
        f'DELETE FROM "{PENDING_TABLE}" WHERE id = ANY(%(notes)s)', {"notes": taken}
    )
    return count


def _sqlite_index_backlog(connection: Connection, limit: int) -> int:
    last, count = connection.exec_driver_sql(
        f'SELECT max(element), count(*) FROM (SELECT element FROM "{PENDING_TABLE}" '
        "ORDER BY element LIMIT ?)",
        (limit,),
    ).one()
    if not count:
        return 0
    for statement in _SQLITE_REFRESH:
        connection.execute(text(statement), {"last": last})
    return int(count)


def _refresh(connection: Connection, ids: list[Any]) -> None:
    for setting in _PG_LOOKUPS_ONLY:
        connection.exec_driver_sql(setting)
    connection.exec_driver_sql(_PG_REFRESH, {"ids": ids})


#: At most this many of a long term's trigrams go into the query (each narrows less).
MAX_TRIGRAMS = 8


def trigram_query(term: str, queue_name: str | None = None) -> str:
    """An FTS5 query for rows of `queue_name` whose text holds every trigram of `term`
    (spread over it when there are many): the table stores no positions, so it cannot
    match the phrase itself. Any row containing the term has all its trigrams, so this
    finds at least the matches; the exact LIKE then decides. A queue name of fewer than
    three characters has no trigram and does not narrow."""
    text_part = "{reference data message} : (" + " AND ".join(_quoted(term)) + ")"
    queue = _quoted(queue_name or "")
    if not queue:
        return text_part
    return "queue_name : (" + " AND ".join(queue) + ") AND " + text_part


def _quoted(value: str) -> list[str]:
    """`value`'s distinct trigrams (at most MAX_TRIGRAMS, spread), as FTS5 strings."""
    trigrams = list(dict.fromkeys(value[index : index + 3] for index in range(len(value) - 2)))
    if len(trigrams) > MAX_TRIGRAMS:
        step = (len(trigrams) - 1) / (MAX_TRIGRAMS - 1)
        trigrams = [trigrams[round(step * index)] for index in range(MAX_TRIGRAMS)]
    return ['"' + trigram.replace('"', '""') + '"' for trigram in trigrams]


class SearchStore(StoreCore):
    """Whether this database has the search index, and the condition that uses it."""

    _search_checked: tuple[float, bool] | None = None
    _behind_said = False

    def _search_indexed(self) -> bool:
        """Cached for a minute; says once in the log when the search has no index."""
        checked = self._search_checked
        if checked is not None and time.monotonic() - checked[0] < 60.0:
            return checked[1]
        if self.dialect not in ("sqlite", "postgresql"):
            found = False
        else:
            with self.engine.connect() as connection:
                found = search_indexed(connection)
        if not found and checked is None:
            log.info(
                "This %s database has no substring-search index: search_term uses plain LIKE.",
                self.dialect,
            )
        self._search_checked = (time.monotonic(), found)
        return found

    def _search_prefilter(self, search_term: Any, queue_name: Any) -> list[ColumnElement[bool]]:
        """[the index condition] for a term the index can serve here, else []. The queue
        name is checked as `element_filters` checks it, so the index is asked for exactly
        the queue the page reads."""
        if not isinstance(search_term, str) or len(search_term) < MIN_TERM:
            return []
        if not self._search_indexed():
            return []
        if self.dialect in ("postgresql", "sqlite"):
            with self.engine.connect() as connection:
                waiting = backlog(connection)
            if waiting > PENDING_LIMIT:
                if not self._behind_said:
                    self._behind_said = True
                    log.info(
                        "The search index is %s+ elements behind: searches read the queue "
                        "(plain LIKE) until the Scheduler holding the watchdog lease (or "
                        "`openorch search-index`) has indexed them.",
                        PENDING_LIMIT,
                    )
                return []
        queue = v.check_text(QueueElement, "queue_name", queue_name)
        return [prefilter(self.dialect, search_term, str(queue))]

    def indexes_in_background(self) -> bool:
        """True where the database has the search index (PostgreSQL's, SQLite's opt-in
        one), which is made after the writes: then `index_search_backlog` has work to
        do; elsewhere it never has."""
        return self.dialect in ("postgresql", "sqlite") and self._search_indexed()

    def index_search_backlog(self, seconds: float = 2.0) -> int:
        """Index the elements written since the last call, in batches (each its own
        short transaction) for up to about `seconds`; returns how many. The Scheduler
        holding the watchdog lease calls it every tick; anyone may (on PostgreSQL a
        second caller at the same time returns 0 at once). SQLite's batches are small
        and each is followed by a pause as long as it took, so writers waiting for the
        one write lock get it in between. 0 where there is no index (SQL Server)."""
        if not self.indexes_in_background():
            return 0
        sqlite = self.dialect == "sqlite"
        if sqlite and not self._read(_anything_noted):
            return 0  # a read, not SQLite's one write lock, on every idle watchdog tick
        limit = SQLITE_INDEX_BATCH if sqlite else INDEX_BATCH
        done = 0
        deadline = time.monotonic() + seconds
        while True:
            started = time.monotonic()
            batch = self._write_core(lambda connection: index_backlog(connection, limit))
            if not batch:
                return done
            done += batch
            now = time.monotonic()
            if now >= deadline:
                return done
            if sqlite and batch == limit:  # more to do: writers first
                time.sleep(min(now - started, deadline - now))

    def rebuild_search_index(self) -> str | None:
        """Make the search index if this database lacks it (SQLite's, which is opt-in;
        PostgreSQL's once pg_trgm and btree_gin can be made), or rebuild it from the rows
        (SQLite's after a VACUUM). Returns None when the index is there, else why not."""

        def work(connection: Connection) -> str | None:
            if search_indexed(connection):
                if connection.dialect.name == "sqlite":
                    for statement in _SQLITE_REBUILD:
                        connection.exec_driver_sql(statement)
                else:  # waits for a background batch under way, then keeps it out
                    waiting = _INDEXER_LOCK.replace("pg_try_", "pg_")
                    connection.exec_driver_sql(f"SELECT {waiting}")
                    connection.exec_driver_sql(f'TRUNCATE "{PENDING_TABLE}", "Queue_Search"')
                    connection.exec_driver_sql(f'DROP INDEX "{PG_INDEX}"')
                    for statement in (_PG_BACKFILL, _PG_BUILD_MEMORY, _PG_INDEX_DDL):
                        connection.exec_driver_sql(statement)
                return None
            uninstall(connection)
            return install(connection)

        problem = self._write_core(work)
        self._search_checked = None
        return problem

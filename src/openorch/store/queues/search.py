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
- SQLite (3.34 and later), **opt-in** (`Store.rebuild_search_index()`; the upgrade
  does not add it): an FTS5 table with the trigram tokenizer (`Queue_Search`) that
  indexes the queue name and the same three columns of `Queues` (external content: it
  stores no copy), kept by triggers, so rows the original or raw SQL write are found
  too; a search asks for its queue's trigrams in the queue's column. SQLite has
  only row triggers, run inside the one writer's lock: tokenising every element made a
  bulk create 5-8x slower (with the queue's column, 7.5x: docs/benchmarks.md), too much
  to impose on every local install. A search adds `rowid IN (SELECT rowid FROM
  Queue_Search WHERE Queue_Search MATCH 'queue_name : ("q00") AND {reference data
  message} : ("777")')` (see `trigram_query`).
- SQL Server: nothing. Its full-text search matches words and prefixes, never infixes,
  so it cannot answer `LIKE '%term%'`; the search stays a scan there.

The index only narrows: the exact LIKE condition is always applied as well, so its
results are the plain LIKE's, whatever the index's case folding. Terms shorter than
`MIN_TERM` characters have no trigram and use the plain LIKE; so does a database where
the index could not be made (no `pg_trgm` or `btree_gin`, an old SQLite), said once in
the log.

SQLite's FTS table refers to `Queues` rows by rowid, which `VACUUM` may renumber (the
table's key is a UUID); openorch never runs VACUUM. After one run by hand,
`rebuild_search_index()` rebuilds the index from the rows.
"""

import logging
import time
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal_column, select, text
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from openorch.database import QueueElement
from openorch.store import validation as v
from openorch.store.core import StoreCore

log = logging.getLogger(__name__)

#: Why the upgrade leaves SQLite's index out (measured in docs/benchmarks.md).
SQLITE_OPT_IN = (
    "SQLite: substring search uses plain LIKE. Store.rebuild_search_index() adds a "
    "trigram index (FTS5): searches of big queues become fast, and every element "
    "written becomes 5 to 8 times slower to insert (bulk creates most of all)."
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
#: Which elements were written since their documents were made (see `_PG_SCHEMA`).
PG_PENDING = "Queue_Search_Pending"
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
    f"""CREATE TABLE IF NOT EXISTS "{PG_PENDING}" (
  id BIGSERIAL PRIMARY KEY, n INTEGER NOT NULL, ids UUID[] NOT NULL,
  gone BOOLEAN NOT NULL DEFAULT false)""",
    # Random UUIDs do not compress: skip trying on every bulk create's array.
    f'ALTER TABLE "{PG_PENDING}" ALTER COLUMN ids SET STORAGE EXTERNAL',
    f"""CREATE OR REPLACE FUNCTION openorch_queue_search_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "{PG_PENDING}" (n, ids)
  SELECT count(*), array_agg(id) FROM queue_search_new HAVING count(*) > 0;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION openorch_queue_search_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "{PG_PENDING}" (n, ids, gone)
  SELECT count(*), array_agg(id), true FROM queue_search_old HAVING count(*) > 0;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION openorch_queue_search_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.id IS DISTINCT FROM NEW.id THEN
    INSERT INTO "{PG_PENDING}" (n, ids, gone) VALUES (1, ARRAY[OLD.id], true);
  END IF;
  INSERT INTO "{PG_PENDING}" (n, ids) VALUES (1, ARRAY[NEW.id]);
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION openorch_queue_search_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "Queue_Search";
  DELETE FROM "{PG_PENDING}";
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
    + ('DROP TABLE IF EXISTS "Queue_Search"', f'DROP TABLE IF EXISTS "{PG_PENDING}"')
)

#: Every object the search adds (migrations and schema comparisons leave them alone).
SQLITE_SHADOW_TABLES = tuple(
    f"{SQLITE_TABLE}_{suffix}" for suffix in ("data", "idx", "docsize", "config", "content")
)

#: The queue name is indexed too, so a search reads only its queue's candidates (as on
#: PostgreSQL); column filters need `detail='column'` (positions are still not stored).
_SQLITE_DDL = (
    f"""CREATE VIRTUAL TABLE "{SQLITE_TABLE}" USING fts5(
  queue_name, reference, data, message, content='Queues', content_rowid='rowid',
  tokenize='trigram', columnsize=0, detail='column'
)""",
    f"""CREATE TRIGGER queue_search_insert AFTER INSERT ON "Queues"
BEGIN
  INSERT INTO "{SQLITE_TABLE}" (rowid, queue_name, reference, data, message)
  VALUES (NEW.rowid, NEW.queue_name, NEW.reference, NEW.data, NEW.message);
END""",
    f"""CREATE TRIGGER queue_search_delete AFTER DELETE ON "Queues"
BEGIN
  INSERT INTO "{SQLITE_TABLE}" ("{SQLITE_TABLE}", rowid, queue_name, reference, data, message)
  VALUES ('delete', OLD.rowid, OLD.queue_name, OLD.reference, OLD.data, OLD.message);
END""",
    f"""CREATE TRIGGER queue_search_update
AFTER UPDATE OF queue_name, reference, data, message ON "Queues"
WHEN OLD.queue_name IS NOT NEW.queue_name OR OLD.reference IS NOT NEW.reference
  OR OLD.data IS NOT NEW.data OR OLD.message IS NOT NEW.message
BEGIN
  INSERT INTO "{SQLITE_TABLE}" ("{SQLITE_TABLE}", rowid, queue_name, reference, data, message)
  VALUES ('delete', OLD.rowid, OLD.queue_name, OLD.reference, OLD.data, OLD.message);
  INSERT INTO "{SQLITE_TABLE}" (rowid, queue_name, reference, data, message)
  VALUES (NEW.rowid, NEW.queue_name, NEW.reference, NEW.data, NEW.message);
END""",
    f"""INSERT INTO "{SQLITE_TABLE}" ("{SQLITE_TABLE}") VALUES ('rebuild')""",
)

_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS queue_search_insert",
    "DROP TRIGGER IF EXISTS queue_search_delete",
    "DROP TRIGGER IF EXISTS queue_search_update",
    f'DROP TABLE IF EXISTS "{SQLITE_TABLE}"',
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
    """PostgreSQL's tables, functions, triggers and index without the backfill
    (idempotent: the migration to background indexing runs them on a database that has
    the index)."""
    return (*_PG_SCHEMA, _PG_INDEX_DDL) if dialect == "postgresql" else ()


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
        # The table with the queue's column: 0d1ca1e5c001's (without it) was remade by
        # 0d20a1e5c001; until then, the plain LIKE.
        found = connection.exec_driver_sql(
            "SELECT COUNT(*) FROM sqlite_master WHERE (type = 'table' AND name = ? "
            "AND sql LIKE '%queue_name%') OR (type = 'trigger' AND name IN "
            "('queue_search_insert', 'queue_search_delete', 'queue_search_update'))",
            (SQLITE_TABLE,),
        ).scalar()
        return int(found or 0) == 4
    if dialect == "postgresql":
        listed = ", ".join(f"'{name}'" for name in _PG_TRIGGERS)
        found = connection.exec_driver_sql(
            "SELECT (SELECT COUNT(*) FROM pg_indexes WHERE indexname = %(name)s "
            "AND schemaname = ANY (current_schemas(false))) + (SELECT COUNT(*) FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relname = 'Queues' "
            f"AND pg_table_is_visible(c.oid) AND t.tgname IN ({listed})) "
            "+ (to_regclass(%(pending)s) IS NOT NULL)::int",
            {"name": PG_INDEX, "pending": f'"{PG_PENDING}"'},
        ).scalar()
        # The pending table too: without it (the index of revision 0d1ca1e5c001, kept in
        # the writer's transaction, before `openorch upgrade`) the search is plain LIKE.
        return int(found or 0) == 2 + len(_PG_TRIGGERS)
    return False


def prefilter(dialect: str, term: str, queue_name: str) -> ColumnElement[bool]:
    """The condition that lets the index narrow a search for `term` in `queue_name`
    (ANDed with the exact condition, which decides). Only for terms of MIN_TERM
    characters or more.

    PostgreSQL: the elements whose indexed document holds the term, and every element
    still pending (its document may be missing or stale). A pending note commits with
    the write it notes and is removed only in the transaction that refreshed the
    document, so every element is at any moment either pending or indexed as it is."""
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
            .select_from(text(f'"{PG_PENDING}"'))
            .where(text("NOT gone"))
        )
        return literal_column('"Queues".id').in_(indexed.union_all(pending))
    return literal_column('"Queues".rowid').in_(
        select(literal_column("rowid"))
        .select_from(text(f'"{SQLITE_TABLE}"'))
        .where(
            text(f'"{SQLITE_TABLE}" MATCH :search_query').bindparams(
                search_query=trigram_query(term, queue_name)
            )
        )
    )


#: Elements one background batch refreshes (one short transaction, ~0.6 s here).
INDEX_BATCH = 20_000

#: Above this many pending elements a search leaves the index out and reads the queue
#: with the plain LIKE: looking up every pending element would cost more (it is the
#: state right after a very large bulk create, or with no Scheduler holding the lease).
PENDING_LIMIT = 50_000

#: `pg_try_advisory_xact_lock`'s key: one indexer at a time, so a slower one never
#: writes an older document over a newer one.
_INDEXER_LOCK = "pg_try_advisory_xact_lock(1869770351, 31)"


def backlog(connection: Connection) -> int:
    """How many elements wait for their documents, deleted ones left out (PostgreSQL; at
    most PENDING_LIMIT + 1 notes are read, so this stays cheap however large it is)."""
    return int(
        connection.exec_driver_sql(
            f'SELECT COALESCE(sum(n), 0) FROM (SELECT n FROM "{PG_PENDING}" WHERE NOT gone '
            "LIMIT %(rows)s) t",
            {"rows": PENDING_LIMIT + 1},
        ).scalar()
        or 0
    )


def index_backlog(connection: Connection, limit: int = INDEX_BATCH) -> int | None:
    """Refresh the documents of up to `limit` pending elements (oldest notes first) and
    remove their notes, in the caller's transaction. Returns how many were refreshed,
    or None when another indexer is at work. A note larger than `limit` (a big bulk
    create) is done in parts: its first `limit` ids, the rest kept for the next batch."""
    if not connection.exec_driver_sql(f"SELECT {_INDEXER_LOCK}").scalar():
        return None
    notes = connection.exec_driver_sql(
        f'SELECT id, n FROM "{PG_PENDING}" ORDER BY id LIMIT %(rows)s', {"rows": limit}
    ).all()
    if not notes:
        return 0
    first_id, first_n = notes[0]
    if first_n > limit:
        ids = connection.exec_driver_sql(
            f'SELECT ids[1:%(k)s] FROM "{PG_PENDING}" WHERE id = %(id)s',
            {"k": limit, "id": first_id},
        ).scalar()
        _refresh(connection, ids or [])
        connection.exec_driver_sql(
            f'UPDATE "{PG_PENDING}" SET ids = ids[%(next)s:], n = n - %(k)s WHERE id = %(id)s',
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
        f'SELECT array_agg(DISTINCT element) FROM "{PG_PENDING}", unnest(ids) element '
        "WHERE id = ANY(%(notes)s)",
        {"notes": taken},
    ).scalar()
    _refresh(connection, ids or [])
    connection.exec_driver_sql(
        f'DELETE FROM "{PG_PENDING}" WHERE id = ANY(%(notes)s)', {"notes": taken}
    )
    return count


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
        if self.dialect == "postgresql":
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
        """True where the search index is made after the writes (PostgreSQL with the
        index): then `index_search_backlog` has work to do; elsewhere it never has."""
        return self.dialect == "postgresql" and self._search_indexed()

    def index_search_backlog(self, seconds: float = 2.0) -> int:
        """Index the elements written since the last call (PostgreSQL), in batches of
        INDEX_BATCH, each its own short transaction, for up to about `seconds`; returns
        how many. The Scheduler holding the watchdog lease calls it every tick; anyone
        may (a second caller at the same time returns 0 at once). 0 on other backends,
        whose index (SQLite's, opt-in) is kept in the writer's transaction."""
        if not self.indexes_in_background():
            return 0
        done = 0
        deadline = time.monotonic() + seconds
        while True:
            batch = self._write_core(index_backlog)
            if not batch:
                return done
            done += batch
            if time.monotonic() >= deadline:
                return done

    def rebuild_search_index(self) -> str | None:
        """Make the search index if this database lacks it (SQLite's, which is opt-in;
        PostgreSQL's once pg_trgm and btree_gin can be made), or rebuild it from the rows
        (SQLite's after a VACUUM). Returns None when the index is there, else why not."""

        def work(connection: Connection) -> str | None:
            if search_indexed(connection):
                if connection.dialect.name == "sqlite":
                    connection.exec_driver_sql(_SQLITE_DDL[-1])
                else:  # waits for a background batch under way, then keeps it out
                    waiting = _INDEXER_LOCK.replace("pg_try_", "pg_")
                    connection.exec_driver_sql(f"SELECT {waiting}")
                    connection.exec_driver_sql(f'TRUNCATE "{PG_PENDING}", "Queue_Search"')
                    connection.exec_driver_sql(f'DROP INDEX "{PG_INDEX}"')
                    for statement in (_PG_BACKFILL, _PG_BUILD_MEMORY, _PG_INDEX_DDL):
                        connection.exec_driver_sql(statement)
                return None
            uninstall(connection)
            return install(connection)

        problem = self._write_core(work)
        self._search_checked = None
        return problem

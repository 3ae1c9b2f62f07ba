"""A SQLite bulk create without the row triggers on `Queues`: one note for the batch.

SQLite has only row triggers: with `queue_counts_insert` in place, inserting 100,000
elements runs the trigger 100,000 times, which made a bulk create about 1.5 to 2 times
as slow as without it (docs/benchmarks.md). Measured, the cost is the trigger's firing
itself: a `WHEN` clause that skips the body (`WHEN NOT EXISTS (SELECT 1 FROM marker)`,
even `WHEN 0`) saved a quarter of its cost at most. Only a table without the trigger
inserts at full speed. The search index's insert trigger (where the opt-in index is
made) is the same kind: one note per element.

So a large bulk create on SQLite takes those insert triggers out *inside its own write
transaction*, inserts, writes in one statement each what the triggers would have
written (one count delta; the new rowids noted for the search indexer), and puts the
triggers back (their own stored SQL, unchanged) before the transaction ends. Why this is
exact for everyone:

- SQLite DDL is transactional, and SQLite has one writer at a time: no other writer
  (another openorch process, the original OpenOrchestrator, an admin's sqlite3) can
  write `Queues` while a trigger is out; they wait for the write lock, and by then the
  trigger is back. Readers see the last committed schema, which always has it.
- If anything fails before the commit, the caller's transaction rolls back (a bulk
  create is all or nothing): the elements, the notes and the missing triggers with it.

The price: a schema change makes every other connection re-read the schema once
(not measured here; small next to inserting over a thousand rows), so small bulk
creates keep the triggers (`ROW_TRIGGERS_ABOVE`). PostgreSQL and SQL Server need none of
this: their triggers are statement-level.
"""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

#: Bulk creates of more elements than this take the insert triggers out for the batch.
ROW_TRIGGERS_ABOVE = 1000

COUNTS_TRIGGER = "queue_counts_insert"
SEARCH_TRIGGER = "queue_search_insert"

#: Where the search indexer finds what to index (store/queues/search.py).
_SEARCH_PENDING = "Queue_Search_Pending"

#: SQLite gives a new row the largest rowid + 1 until the largest possible is taken.
_LAST_ROWID = 2**63 - 1


@contextmanager
def _trigger_out(cursor: Any, name: str, count: int, writing: str) -> Iterator[bool]:
    """Without the trigger `name` for a batch of `count` rows, if it is there, writes
    the table `writing` (what the caller writes in its place) and the batch is large;
    yields whether it was taken out. Put back as it was stored."""
    stored = None
    if count > ROW_TRIGGERS_ABOVE:
        stored = cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ? AND sql LIKE ?",
            (name, f'%"{writing}"%'),
        ).fetchone()
    if stored is None:
        yield False
        return
    cursor.execute(f"DROP TRIGGER {name}")
    try:
        yield True
    except BaseException:
        # The caller rolls back (all or nothing), which restores the trigger and undoes
        # the rows; putting the trigger back here as well is belt and braces.
        with suppress(Exception):  # the rollback restores it; keep the original error
            cursor.execute(stored[0])
        raise
    cursor.execute(stored[0])


@contextmanager
def one_delta_for_the_batch(
    cursor: Any, queue_name: str, status: str, count: int
) -> Iterator[None]:
    """Around an insert of `count` elements of `queue_name` in `status` on a SQLite
    cursor inside a write transaction: without the per-row count trigger, with one
    delta row instead. Does nothing for small batches or where the trigger is absent
    (a database without maintained counts)."""
    with _trigger_out(cursor, COUNTS_TRIGGER, count, "Queue_Counts") as out:
        yield
        if out:
            cursor.execute(
                'INSERT INTO "Queue_Counts" (queue_name, status, delta) VALUES (?, ?, ?)',
                (queue_name, status, count),
            )


@contextmanager
def one_search_note_for_the_batch(cursor: Any, count: int) -> Iterator[None]:
    """Around an insert of `count` elements on a SQLite cursor inside a write
    transaction: without the search index's per-row insert trigger; the new elements
    (every rowid above the largest before the insert) noted for the indexer in one
    statement, as the trigger notes them. Does nothing for small batches, where the
    opt-in index is absent, or when the rowids might not grow (the largest is taken)."""
    last = 0
    if count > ROW_TRIGGERS_ABOVE:
        last = cursor.execute('SELECT max(rowid) FROM "Queues"').fetchone()[0] or 0
        if last > _LAST_ROWID - count:
            count = 0  # SQLite would pick free rowids at random: keep the trigger
    # Only the trigger that notes: an index of an older revision not yet upgraded
    # (its trigger tokenises, and there is no pending table) keeps its trigger.
    with _trigger_out(cursor, SEARCH_TRIGGER, count, _SEARCH_PENDING) as out:
        yield
        if out:
            cursor.execute(
                f'INSERT INTO "{_SEARCH_PENDING}" (element) SELECT rowid FROM "Queues" '
                "WHERE rowid > ? ON CONFLICT (element) DO UPDATE SET gone = 0",
                (last,),
            )

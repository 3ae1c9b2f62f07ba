"""One count delta per SQLite bulk create instead of one per element.

SQLite has only row triggers: with `queue_counts_insert` in place, inserting 100,000
elements runs the trigger 100,000 times, which made a bulk create about 1.5 to 2 times
as slow as without it (docs/benchmarks.md). Measured, the cost is the trigger's firing
itself: a `WHEN` clause that skips the body (`WHEN NOT EXISTS (SELECT 1 FROM marker)`,
even `WHEN 0`) saved a quarter of its cost at most. Only a table without the trigger
inserts at full speed.

So a large bulk create on SQLite takes the insert trigger out *inside its own write
transaction*, inserts, appends the one delta row the trigger would have summed to, and
puts the trigger back (its own stored SQL, unchanged) before the transaction ends. Why
this is exact for everyone:

- SQLite DDL is transactional, and SQLite has one writer at a time: no other writer
  (another openorch process, the original OpenOrchestrator, an admin's sqlite3) can
  write `Queues` while the trigger is out; they wait for the write lock, and by then the
  trigger is back. Readers see the last committed schema, which always has it.
- If anything fails before the commit, the caller's transaction rolls back (a bulk
  create is all or nothing): the elements, the delta and the missing trigger with it.

The price: a schema change makes every other connection re-read the schema once
(not measured here; small next to inserting over a thousand rows), so small bulk
creates keep the trigger (`UNCOUNTED_ABOVE`). PostgreSQL
and SQL Server need none of this: their count triggers are statement-level.
"""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

#: Bulk creates of more elements than this take the insert trigger out for the batch.
UNCOUNTED_ABOVE = 1000

INSERT_TRIGGER = "queue_counts_insert"


@contextmanager
def one_delta_for_the_batch(
    cursor: Any, queue_name: str, status: str, count: int
) -> Iterator[None]:
    """Around an insert of `count` elements of `queue_name` in `status` on a SQLite
    cursor inside a write transaction: without the per-row count trigger, with one
    delta row instead. Does nothing for small batches or where the trigger is absent
    (a database without maintained counts)."""
    stored = None
    if count > UNCOUNTED_ABOVE:
        stored = cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            (INSERT_TRIGGER,),
        ).fetchone()
    if stored is None:
        yield
        return
    cursor.execute(f"DROP TRIGGER {INSERT_TRIGGER}")
    try:
        yield
        cursor.execute(
            'INSERT INTO "Queue_Counts" (queue_name, status, delta) VALUES (?, ?, ?)',
            (queue_name, status, count),
        )
    except BaseException:
        # The caller rolls back (all or nothing), which restores the trigger and undoes
        # the rows; putting the trigger back here as well is belt and braces.
        with suppress(Exception):  # the rollback restores it; keep the original error
            cursor.execute(stored[0])
        raise
    cursor.execute(stored[0])

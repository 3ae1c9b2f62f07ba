"""Database objects derived from `Queues` and kept by triggers, not by the models:
the maintained counts (store/queues/counts.py) and the search index (store/queues/search.py).

They are not in the models' metadata, so schema comparisons (Alembic's autogenerate,
tests/migration) leave them out by these names, and `openorch copy` does not copy them
(the target's own triggers fill them as the elements arrive).
"""

from openorch.store.queues.counts import COUNTS_TABLE
from openorch.store.queues.search import PENDING_TABLE, PG_INDEX, SQLITE_SHADOW_TABLES, SQLITE_TABLE

#: Tables: the counts, `Queue_Search` (PostgreSQL's side table or SQLite's FTS5 table
#: and its shadow tables) and PostgreSQL's notes of the elements it has yet to index.
DERIVED_TABLES = frozenset((COUNTS_TABLE, PENDING_TABLE, SQLITE_TABLE, *SQLITE_SHADOW_TABLES))

#: Indexes on model tables.
DERIVED_INDEXES = frozenset((PG_INDEX,))


def is_derived(name: str | None, kind: str) -> bool:
    """True for a derived table or index (an Alembic `include_name` helper)."""
    if kind == "table":
        return name in DERIVED_TABLES
    if kind == "index":
        return name in DERIVED_INDEXES
    return False

"""`openorch search-index`: make (or rebuild) the substring-search index of a database.

PostgreSQL gets its index with the upgrade; on SQLite the index is opt-in, for the room
it takes in the file (measured in docs/benchmarks.md, "Counts and search"). An admin whose
queues are searched turns it on here; it makes PostgreSQL's once `pg_trgm` and
`btree_gin` can be installed. Where the index is there (either backend), it indexes what
the Scheduler holding the watchdog lease has not indexed yet (for a database no
Scheduler runs against; writers go on), or with `--rebuild` everything again (SQLite's
after a VACUUM). The work is the data layer's (`Store.rebuild_search_index`,
`Store.index_search_backlog`, store/queues/search.py).
Exit codes: 0 the index is there, 1 it cannot be made here (why is printed), 2 refused.
"""

import os
import sys
import time

from openorch.config import ENV_CONN, local_database_path
from openorch.masking import mask
from openorch.store import ConnectError, Store

EXIT_OK = 0
EXIT_CANNOT = 1
EXIT_REFUSED = 2


def run_search_index(conn: str | None = None, rebuild: bool = False) -> int:
    """Make or rebuild the search index of the configured database (no key needed:
    nothing is decrypted); where it is there, index the elements still
    waiting instead (writers go on), unless `rebuild`. Returns the exit code."""
    conn_string = conn or os.environ.get(ENV_CONN) or None
    if conn_string is None:
        if not local_database_path().is_file():
            print(
                f"openorch search-index: error: there is no database at {local_database_path()} "
                f"(give --conn, or set {ENV_CONN} or OPENORCH_HOME). Nothing was changed.",
                file=sys.stderr,
            )
            return EXIT_REFUSED
        conn_string = f"sqlite:///{local_database_path()}"
    try:
        store = Store.open(conn_string, None)
    except ConnectError as error:
        print(f"openorch search-index: error: {mask(str(error))}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        print(f"Database: {mask(conn_string)}")
        if store.indexes_in_background() and not rebuild:
            return _catch_up(store)
        print("Indexing every queue element for search (writers to Queues wait meanwhile)…")
        started = time.monotonic()
        problem = store.rebuild_search_index()
        if problem is not None:
            print(f"openorch search-index: {problem}", file=sys.stderr)
            return EXIT_CANNOT
        print(f"Search index ready in {time.monotonic() - started:.1f} s.")
        return EXIT_OK
    finally:
        store.close()


def _catch_up(store: Store) -> int:
    """Index the elements written since the last indexing (the work of
    the Scheduler holding the watchdog lease, for a database none is running against)."""
    print("Indexing the elements written since the search index last saw them (writers go on)…")
    started = time.monotonic()
    done = 0
    while True:
        batch = store.index_search_backlog(seconds=5.0)
        if not batch:
            break
        done += batch
        print(f"  {done:,} elements indexed ({time.monotonic() - started:.0f} s)")
    print(
        f"Search index up to date: {done:,} elements indexed in "
        f"{time.monotonic() - started:.1f} s (--rebuild indexes every element again)."
    )
    return EXIT_OK

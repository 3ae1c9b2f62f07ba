"""Mixed fleets (issue 31): the original 3.0.0 writes `Queues` directly, and the counts
openorch maintains by triggers stay exact (its claims counted too, issue 29) and search
finds its elements (SQLite and PostgreSQL)."""

import time

import pytest

from openorch.database import QueueStatus
from openorch.store import Store
from support.original import OriginalVenv, run_original


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_the_originals_queue_writes_keep_the_maintained_counts_exact(
    original: OriginalVenv, backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("sqlite_db_url" if backend == "sqlite" else "pg_db_url")
    store = Store(url)
    store.bulk_create_queue_elements("mixed", ["ours1", "ours2"], [None, None])
    store.get_next_queue_element("mixed")
    # A large bulk create (on SQLite it takes the row trigger out inside its transaction,
    # store/queues/bulk_triggers.py): the original's writes after it must still be counted.
    store.bulk_create_queue_elements("ours-bulk", [f"b{n}" for n in range(1200)], [None] * 1200)
    assert store._counts_maintained()

    theirs = run_original(original, "queue_writes.py", url, "mixed")

    counts = store.get_queue_count()["mixed"]
    truth = store.count_queues_by_scan()["mixed"]  # the original's GROUP BY
    assert counts == truth
    assert {status.name: n for status, n in counts.items() if n} == theirs["mixed"]
    assert counts[QueueStatus.DONE] == 4 and counts[QueueStatus.FAILED] == 2
    assert sum(counts.values()) == 2 + 30 + 5 - 1
    assert store.get_queue_count()["ours-bulk"][QueueStatus.NEW] == 1200
    # Claims counted whoever claims (0d22a1e5c001): our one and the original's 12.
    assert store.claim_counts() == {"mixed": 13}
    store.compact_queue_counts()
    assert store.get_queue_count()["mixed"] == truth
    # Search finds the original's writes at once (PostgreSQL: through the pending notes
    # its statements left), and the same after the lease holder's indexing.
    assert len(store.get_queue_elements("mixed", search_term="done by the orig")) == 4
    indexed = store.index_search_backlog(seconds=60)
    assert (indexed > 0) == (backend == "postgresql")
    assert len(store.get_queue_elements("mixed", search_term="done by the orig")) == 4
    plain = Store(store.engine)  # the same database searched without the index
    plain._search_checked = (time.monotonic() + 3600, False)
    for term in ("one", "b1", "original"):
        found = [e.id for e in store.get_queue_elements("mixed", search_term=term, limit=None)]
        scanned = plain.get_queue_elements("mixed", search_term=term, limit=None)
        assert found == [e.id for e in scanned] != [], term
    store.close()

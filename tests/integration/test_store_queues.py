"""Queue elements through the data layer, on SQLite and PostgreSQL."""

import time
import uuid
from datetime import datetime, timedelta

import pytest

from openorch.database import QueueStatus
from openorch.store import Store
from openorch.store.queues.claim import ClaimCursors


def test_claim_oldest_new_and_mark_in_progress(store: Store) -> None:
    first = store.create_queue_element("q", "r1", '{"a": 1}', "robot")
    store.create_queue_element("q", "r2")
    store.create_queue_element("other", "r0")

    claimed = store.get_next_queue_element("q")
    assert claimed is not None
    assert claimed.id == first.id
    assert claimed.status == QueueStatus.IN_PROGRESS
    assert claimed.start_date is not None
    assert (claimed.data, claimed.created_by) == ('{"a": 1}', "robot")
    stored = store.get_queue_element(first.id)
    assert stored.status == QueueStatus.IN_PROGRESS

    peek = store.get_next_queue_element("q", set_status=False)
    assert peek is not None and peek.reference == "r2" and peek.status == QueueStatus.NEW
    assert store.get_next_queue_element("q", reference="nope") is None
    assert store.get_next_queue_element("q", reference="r2") is not None
    assert store.get_next_queue_element("q") is None


def test_an_element_set_back_to_new_behind_the_claims_waits_for_the_rescan(
    store: Store,
) -> None:
    """PostgreSQL claims start at this Store's last claim in the queue (ClaimCursors),
    so an element set back to NEW behind it is passed over until the next search from
    the oldest end (at most RESCAN_SECONDS later); SQLite always starts at the oldest."""
    cursors = store._claim_cursors
    cursors.RESCAN_SECONDS = 3600.0  # no rescan by the clock during the first part
    a, b, c, d = (store.create_queue_element("q", f"r{n}") for n in range(4))
    assert [store.get_next_queue_element("q").id for _ in range(2)] == [a.id, b.id]  # type: ignore[union-attr]
    store.set_queue_element_status(a.id, QueueStatus.NEW)
    passed_over = store.get_next_queue_element("q")
    assert passed_over is not None
    assert passed_over.id == (c.id if store.dialect == "postgresql" else a.id)
    cursors.RESCAN_SECONDS = 0.0  # the rescan is due
    assert store.get_next_queue_element("q").id == (a.id if store.dialect == "postgresql" else c.id)  # type: ignore[union-attr]
    assert store.get_next_queue_element("q").id == d.id  # type: ignore[union-attr]
    assert store.get_next_queue_element("q") is None


def test_a_claim_cursor_is_due_for_a_rescan_after_rescan_seconds() -> None:
    cursors = ClaimCursors()
    cursors.RESCAN_SECONDS = 0.5
    created = datetime(2026, 1, 1, 12, 0)
    cursors.claimed("q", created, whole=True)
    cursors.claimed("q", created + timedelta(seconds=1), whole=False)
    assert cursors.start("q") == created + timedelta(seconds=1)  # well within 0.5 s
    time.sleep(0.55)
    assert cursors.start("q") is None  # the search from the oldest end is due
    cursors.claimed("q", created, whole=True)
    cursors.claimed("q", None, whole=False)  # nothing found: no cursor
    assert cursors.start("q") is None


def test_a_claim_finding_nothing_after_its_cursor_searches_the_whole_queue(
    store: Store,
) -> None:
    """A queue is never reported empty while it has a claimable element."""
    a, b = (store.create_queue_element("q", f"r{n}") for n in range(2))
    assert store.get_next_queue_element("q").id == a.id  # type: ignore[union-attr]
    assert store.get_next_queue_element("q").id == b.id  # type: ignore[union-attr]
    store.set_queue_element_status(a.id, QueueStatus.NEW)  # behind the cursor, at once
    again = store.get_next_queue_element("q")
    assert again is not None and again.id == a.id
    assert store.get_next_queue_element("q") is None
    assert store.get_next_queue_element("q") is None  # an empty queue stays empty


def test_set_status_stamps_dates_and_message(store: Store) -> None:
    element = store.create_queue_element("q", "r")
    store.set_queue_element_status(element.id, QueueStatus.IN_PROGRESS)
    assert store.get_queue_element(element.id).start_date is not None
    store.set_queue_element_status(str(element.id), "DONE", "all good")
    done = store.get_queue_element(element.id)
    assert done.status == QueueStatus.DONE
    assert done.end_date is not None
    assert done.message == "all good"
    store.set_queue_element_status(element.id, "Failed")  # the value works as well
    failed = store.get_queue_element(element.id)
    assert failed.status == QueueStatus.FAILED
    assert failed.message == "all good"  # no message given: the old one stays
    with pytest.raises(ValueError, match="No queue element"):
        store.set_queue_element_status(uuid.uuid4(), QueueStatus.DONE)
    with pytest.raises(ValueError, match="status must be one of NEW"):
        store.set_queue_element_status(element.id, "FINISHED")
    with pytest.raises(ValueError, match="message is too long"):
        store.set_queue_element_status(element.id, QueueStatus.DONE, "m" * 1001)
    assert store.get_queue_element(element.id).status == QueueStatus.FAILED


def test_bulk_create_is_all_or_nothing(store: Store) -> None:
    with pytest.raises(ValueError, match="same length"):
        store.bulk_create_queue_elements("q", ["a", "b"], ["1"])
    with pytest.raises(ValueError, match="must not be empty"):
        store.bulk_create_queue_elements("q", [], [])
    with pytest.raises(ValueError, match=r"reference\[2\] is too long"):
        store.bulk_create_queue_elements("q", ["a", "b", "c" * 101], [None, None, None])
    with pytest.raises(ValueError, match=r"data\[1\] must be a string or None"):
        store.bulk_create_queue_elements("q", ["a", "b"], ["x", {"k": 5}])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="queue_name is too long"):
        store.bulk_create_queue_elements("q" * 101, ["a"], ["b"])
    assert store.get_queue_count() == {}

    store.bulk_create_queue_elements(
        "q", [f"r{i}" for i in range(500)], [str(i) for i in range(500)]
    )
    assert store.get_queue_count()["q"][QueueStatus.NEW] == 500


def test_listing_filters_search_sort_and_count(store: Store) -> None:
    base = datetime(2025, 1, 1, 12, 0, 0)
    ids = []
    for index, (reference, data, message) in enumerate(
        [
            ("INV-1", '{"x": "alpha"}', None),
            ("INV-2", "beta 100%", "ok"),
            ("CR-1", "gamma", "alpha found"),
            ("INV-3", None, None),
        ]
    ):
        element = store.create_queue_element("q", reference, data)
        store.update_queue_element(
            element.id, created_date=base + timedelta(minutes=index), message=message
        )
        ids.append(element.id)
    store.set_queue_element_status(ids[1], QueueStatus.DONE)

    ascending = store.get_queue_elements("q")
    assert [e.reference for e in ascending] == ["INV-1", "INV-2", "CR-1", "INV-3"]
    elements, total = store.get_queue_elements("q", offset=1, limit=2, include_count=True)
    assert [e.reference for e in elements] == ["INV-2", "CR-1"] and total == 4
    assert next(e.reference for e in store.get_queue_elements("q", order_desc=True)) == "INV-3"
    assert [e.reference for e in store.get_queue_elements("q", order_by="reference")] == [
        "CR-1",
        "INV-1",
        "INV-2",
        "INV-3",
    ]
    assert [e.reference for e in store.get_queue_elements("q", status="DONE")] == ["INV-2"]
    assert [e.reference for e in store.get_queue_elements("q", reference="CR-1")] == ["CR-1"]
    # search: reference prefix, or substring of data or message; % is literal
    assert {e.reference for e in store.get_queue_elements("q", search_term="INV")} == {
        "INV-1",
        "INV-2",
        "INV-3",
    }
    assert {e.reference for e in store.get_queue_elements("q", search_term="alpha")} == {
        "INV-1",
        "CR-1",
    }
    assert [e.reference for e in store.get_queue_elements("q", search_term="100%")] == ["INV-2"]
    assert [e.reference for e in store.get_queue_elements("q", search_term="%")] == ["INV-2"]
    window = store.get_queue_elements(
        "q", from_date=base + timedelta(minutes=1), to_date=base + timedelta(minutes=2)
    )
    assert [e.reference for e in window] == ["INV-2", "CR-1"]
    with pytest.raises(ValueError, match="order_by must be one of"):
        store.get_queue_elements("q", order_by="password")
    with pytest.raises(ValueError, match="offset must be at least 0"):
        store.get_queue_elements("q", offset=-1)


def test_queue_counts_per_status(store: Store) -> None:
    store.bulk_create_queue_elements("b", ["1", "2", "3"], ["", "", ""])
    store.bulk_create_queue_elements("a", ["1"], [""])
    store.get_next_queue_element("b")
    counts = store.get_queue_count()
    assert list(counts) == ["a", "b"]
    assert counts["b"] == {
        QueueStatus.NEW: 2,
        QueueStatus.IN_PROGRESS: 1,
        QueueStatus.DONE: 0,
        QueueStatus.FAILED: 0,
        QueueStatus.ABANDONED: 0,
    }


def test_update_and_delete_element(store: Store) -> None:
    element = store.create_queue_element("q", "r", "d")
    store.update_queue_element(element.id, reference="r2", data="d2", status=QueueStatus.ABANDONED)
    changed = store.get_queue_element(element.id)
    assert (changed.reference, changed.data, changed.status) == ("r2", "d2", QueueStatus.ABANDONED)
    with pytest.raises(ValueError, match="data is too long"):
        store.update_queue_element(element.id, data="x" * 2001)
    assert store.get_queue_element(element.id).data == "d2"
    store.delete_queue_element(element.id)
    with pytest.raises(ValueError, match="No queue element"):
        store.get_queue_element(element.id)
    with pytest.raises(ValueError, match="No queue element"):
        store.delete_queue_element(element.id)
    with pytest.raises(ValueError, match="element_id is not a valid UUID"):
        store.delete_queue_element("123")


def test_bulk_created_elements_are_claimed_and_paged_in_the_order_given(store: Store) -> None:
    references = [f"r{index:03}" for index in range(300)]
    store.bulk_create_queue_elements("ordered", references[::-1], [None] * 300)
    expected = references[::-1]
    paged = [
        element.reference
        for offset in range(0, 300, 70)
        for element in store.get_queue_elements("ordered", offset=offset, limit=70)
    ]
    assert paged == expected  # distinct created dates: no row skipped or repeated
    claimed = [store.get_next_queue_element("ordered") for _ in range(5)]
    assert [element.reference for element in claimed if element] == expected[:5]

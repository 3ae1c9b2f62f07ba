"""Maintained queue counts (issue 31): exact through every kind of write, by openorch and
by raw SQL, through compaction and concurrent claimers; the original's GROUP BY is the
truth every test compares with. SQLite and PostgreSQL."""

import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from openorch import migrate
from openorch.alerts.watchdog import Watchdog
from openorch.database import QueueStatus
from openorch.store import Store, build_engine
from openorch.store.queues import counts as queue_counts
from openorch.store.queues.bulk_triggers import ROW_TRIGGERS_ABOVE
from openorch.store.queues.counts import QUEUE_COUNTS
from support.databases import raw_sql, stored_id
from support.race import release

TESTS = Path(__file__).resolve().parents[1]


def _rows(store: Store) -> int:
    with store.engine.connect() as connection:
        return int(
            connection.execute(sa.select(sa.func.count()).select_from(QUEUE_COUNTS)).scalar_one()
        )


def _exact(store: Store) -> dict[str, dict[QueueStatus, int]]:
    """The maintained counts, checked against the scan (and returned)."""
    counts = store.get_queue_count()
    assert counts == store.count_queues_by_scan()
    return counts


def test_counts_are_maintained_on_a_migrated_database(store: Store) -> None:
    assert store._counts_maintained()
    assert store.get_queue_count() == {}
    store.create_queue_element("a", "r")
    assert _exact(store) == {"a": {**dict.fromkeys(QueueStatus, 0), QueueStatus.NEW: 1}}
    assert _rows(store) == 1  # read from Queue_Counts, not counted


def test_counts_stay_exact_through_openorchs_writes(store: Store) -> None:
    store.set_queue_settings("a", max_attempts=2)
    store.bulk_create_queue_elements("a", [f"r{n}" for n in range(50)], [None] * 50)
    store.bulk_create_queue_elements("b", [f"r{n}" for n in range(7)], [None] * 7)
    _exact(store)
    claimed = [store.get_next_queue_element("a") for _ in range(20)]
    _exact(store)
    elements = [element for element in claimed if element is not None]
    store.set_queue_element_status(elements[0].id, QueueStatus.DONE)
    store.set_queue_element_status(elements[1].id, QueueStatus.FAILED, "no")
    store.set_queue_element_status(elements[2].id, QueueStatus.DONE)  # DONE again: no change
    store.set_queue_element_status(elements[2].id, QueueStatus.DONE)
    store.retry_queue_element(elements[3].id)
    store.release_queue_element(elements[4].id)
    store.update_queue_element(elements[5].id, message="only the message")
    store.update_queue_element(elements[6].id, status=QueueStatus.ABANDONED)
    store.delete_queue_element(elements[7].id)
    _exact(store)
    store.apply_queue_action("abandon", "a", search_term="r1")
    store.apply_queue_action("retry", "a", status=QueueStatus.ABANDONED)
    store.apply_queue_action("delete", "b")
    counts = _exact(store)
    assert "b" not in counts  # a queue without elements is left out, as the scan leaves it
    store.apply_queue_action("delete", "a")
    assert _exact(store) == {}


def test_counts_stay_exact_through_raw_sql_writes(store: Store) -> None:
    """The original (and an admin's SQL) write `Queues` directly: the triggers count them."""
    now = datetime(2025, 1, 2, 3, 4, 5)
    for n in range(3):
        raw_sql(
            store,
            'INSERT INTO "Queues" (id, queue_name, status, reference, created_date) '
            "VALUES (:id, 'raw', 'NEW', :ref, :now)",
            id=stored_id(store, uuid.uuid4()),
            ref=f"r{n}",
            now=now,
        )
    _exact(store)
    raw_sql(store, """UPDATE "Queues" SET status = 'IN_PROGRESS' WHERE reference = 'r0'""")
    raw_sql(store, """UPDATE "Queues" SET queue_name = 'moved' WHERE reference = 'r1'""")
    raw_sql(store, """UPDATE "Queues" SET message = 'hello' WHERE queue_name = 'raw'""")
    counts = _exact(store)
    assert counts["moved"][QueueStatus.NEW] == 1
    assert counts["raw"][QueueStatus.IN_PROGRESS] == 1
    # One statement inserting several rows (a statement-level trigger on PostgreSQL).
    raw_sql(
        store,
        'INSERT INTO "Queues" (id, queue_name, status, created_date) '
        "VALUES (:one, 'raw', 'DONE', :now), (:two, 'raw', 'FAILED', :now)",
        one=stored_id(store, uuid.uuid4()),
        two=stored_id(store, uuid.uuid4()),
        now=now,
    )
    assert _exact(store)["raw"][QueueStatus.FAILED] == 1
    raw_sql(store, """DELETE FROM "Queues" WHERE queue_name = 'raw'""")
    assert _exact(store) == {"moved": {**dict.fromkeys(QueueStatus, 0), QueueStatus.NEW: 1}}


def test_compaction_keeps_the_totals_and_leaves_one_row_per_queue_and_status(
    store: Store,
) -> None:
    store.bulk_create_queue_elements("a", [f"r{n}" for n in range(30)], [None] * 30)
    for _ in range(30):
        element = store.get_next_queue_element("a")
        assert element is not None
        store.set_queue_element_status(element.id, QueueStatus.DONE)
    before = _exact(store)
    rows = _rows(store)
    assert rows > 3
    assert store.compact_queue_counts() == rows
    # 30 DONE and 30 claims (tests/integration/test_claim_counts.py); NEW and
    # IN_PROGRESS summed to 0 and went.
    assert _rows(store) == 2
    assert _exact(store) == before
    assert store.claim_counts() == {"a": 30}
    assert store.compact_queue_counts() == 2  # nothing more to do
    assert _exact(store) == before


def test_a_read_over_many_delta_rows_compacts(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue_counts, "COMPACT_ABOVE", 10)
    store.bulk_create_queue_elements("a", [f"r{n}" for n in range(10)], [None] * 10)
    for _ in range(10):
        store.get_next_queue_element("a")
    assert _rows(store) > 10
    counts = _exact(store)
    assert _rows(store) == 2  # IN_PROGRESS 10, and the 10 claims
    assert counts["a"][QueueStatus.IN_PROGRESS] == 10


def test_only_the_watchdog_lease_holder_compacts(store: Store) -> None:
    store.bulk_create_queue_elements("a", ["x", "y"], [None, None])
    store.get_next_queue_element("a")
    holder = Watchdog(store, "vm1", lambda _line: None, interval=30)
    other = Watchdog(store, "vm2", lambda _line: None, interval=30)
    assert _rows(store) > 2
    holder.tick()
    assert holder.is_holder
    assert _rows(store) == 3  # NEW 1, IN_PROGRESS 1, 1 claim
    store.get_next_queue_element("a")
    other.tick()
    assert not other.is_holder
    assert _rows(store) == 6  # the non-holder left the claim's three rows
    _exact(store)


def test_the_unfiltered_page_total_comes_from_the_maintained_counts(store: Store) -> None:
    store.bulk_create_queue_elements("a", [f"r{n}" for n in range(5)], [None] * 5)
    store.get_next_queue_element("a")
    assert store.get_queue_elements("a", include_count=True)[1] == 5
    assert store.get_queue_elements("a", status="NEW", include_count=True)[1] == 4
    # A stray row in Queue_Counts shows: the total is read from there, not counted.
    with store.engine.begin() as connection:
        connection.execute(QUEUE_COUNTS.insert().values(queue_name="a", status="NEW", delta=100))
    assert store.get_queue_elements("a", include_count=True)[1] == 105
    assert store.get_queue_elements("a", status="NEW", include_count=True)[1] == 104
    # A filtered view is counted.
    assert store.get_queue_elements("a", reference="r1", include_count=True)[1] == 1
    assert store.get_queue_elements("a", search_term="r", include_count=True)[1] == 5


def test_a_database_without_the_triggers_is_counted_by_a_scan(store: Store) -> None:
    store.bulk_create_queue_elements("a", ["x", "y"], [None, None])
    with store.engine.begin() as connection:
        for statement in queue_counts.drop_ddl(store.dialect):  # the table stays
            connection.exec_driver_sql(statement)
    fresh = Store(store.engine)
    assert not fresh._counts_maintained()
    store.get_next_queue_element("a")
    assert fresh.get_queue_count() == fresh.count_queues_by_scan()
    assert fresh.get_queue_count()["a"][QueueStatus.IN_PROGRESS] == 1
    assert fresh.get_queue_elements("a", include_count=True)[1] == 2
    assert fresh.compact_queue_counts() == 0
    assert fresh.get_metric_figures(60).queue_elements[("a", "NEW")] == 1


def test_the_migration_counts_the_elements_already_there(empty_url: str) -> None:
    engine = build_engine(empty_url)
    migrate.upgrade(engine, "0d1ba1e5c001")
    store = Store(engine)
    store.bulk_create_queue_elements("old", [f"r{n}" for n in range(40)], [None] * 40)
    for _ in range(15):
        store.get_next_queue_element("old")
    store.create_queue_element("other", "x")
    assert not store._counts_maintained()
    truth = store.count_queues_by_scan()
    migrate.upgrade(engine)
    upgraded = Store(engine)
    assert upgraded._counts_maintained()
    assert upgraded.get_queue_count() == truth
    upgraded.get_next_queue_element("old")
    _exact(upgraded)
    engine.dispose()


def test_overview_and_metrics_read_the_maintained_counts(store: Store) -> None:
    store.bulk_create_queue_elements("a", ["x", "y", "z"], [None] * 3)
    store.get_next_queue_element("a")
    with store.engine.begin() as connection:  # a stray delta shows where they read
        connection.execute(QUEUE_COUNTS.insert().values(queue_name="a", status="NEW", delta=10))
    figures = store.get_metric_figures(60)
    assert figures.queue_elements[("a", "NEW")] == 12
    assert figures.queue_elements[("a", "IN_PROGRESS")] == 1
    (line,) = store.get_overview().queues
    assert (line.new, line.in_progress) == (12, 1)
    assert line.oldest_new is not None
    (overview,) = store.get_queue_overview()
    assert overview.counts[QueueStatus.NEW] == 12


@pytest.mark.slow
def test_concurrent_claimers_in_several_processes_keep_the_counts_exact(
    db_url: str, tmp_path: Path
) -> None:
    store = Store(db_url)
    store.set_queue_settings("race", max_attempts=3)
    size = 600
    store.bulk_create_queue_elements("race", [f"r{n}" for n in range(size)], [None] * size)
    start = tmp_path / "start"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "support.race", "churn", db_url, str(start), "race", str(seed)]
            + (["40"] if seed == 0 else []),  # one dies half-way through a write
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=TESTS,
        )
        for seed in range(4)
    ]
    release(start, len(workers))  # all at once, or the others may drain the queue first
    for worker in workers:
        _out, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err[-2000:]
    counts = _exact(store)["race"]
    assert counts[QueueStatus.NEW] == 0
    assert counts[QueueStatus.IN_PROGRESS] == 1  # the dead worker's last claim
    assert sum(counts.values()) < size  # some were deleted
    store.compact_queue_counts()
    assert _exact(store)["race"] == counts
    store.close()


def test_one_queues_counts(store: Store) -> None:
    store.bulk_create_queue_elements("a", ["x", "y"], [None, None])
    store.create_queue_element("b", "z")
    store.get_next_queue_element("a")
    assert store.get_queue_count("a") == {"a": _exact(store)["a"]}
    assert store.get_queue_count("none") == {}
    store.apply_queue_action("delete", "b")
    assert store.get_queue_count("b") == {}
    with store.engine.begin() as connection:
        for statement in queue_counts.drop_ddl(store.dialect):
            connection.exec_driver_sql(statement)
    scanned = Store(store.engine)
    assert scanned.get_queue_count("a") == store.count_queues_by_scan()


def _insert_trigger_present(store: Store) -> bool:
    with store.engine.connect() as connection:  # a fresh look: another connection's view
        return queue_counts.counts_maintained(connection)


def test_a_large_bulk_create_is_counted_by_one_delta_row(store: Store) -> None:
    """SQLite: a bulk create above ROW_TRIGGERS_ABOVE takes the row trigger out for its
    insert and appends one delta itself (store/queues/bulk_triggers.py); PostgreSQL's statement
    trigger adds one too. Either way: exact, one row, and the trigger is back after."""
    size = ROW_TRIGGERS_ABOVE + 500
    store.create_queue_element("big", "before")
    store.compact_queue_counts()
    rows = _rows(store)
    store.bulk_create_queue_elements("big", [f"r{n}" for n in range(size)], [None] * size)
    assert _exact(store)["big"][QueueStatus.NEW] == size + 1
    assert _rows(store) == rows + 1  # one delta row for the whole batch, not `size`
    assert _insert_trigger_present(store)
    # Unique references (another column list) and a partial skip of duplicates.
    store.set_queue_settings("uniq", unique_references=True)
    store.bulk_create_queue_elements("uniq", [f"u{n}" for n in range(size)], [None] * size)
    created = store.bulk_create_queue_elements(
        "uniq",
        [f"u{n}" for n in range(size - 10, 2 * size)],
        [None] * (size + 10),
        skip_duplicates=True,
    )
    assert created.created == size and len(created.skipped) == 10
    assert _exact(store)["uniq"][QueueStatus.NEW] == 2 * size
    # Writers after it (the original, an admin's SQL) are counted by the trigger again.
    raw_sql(
        store,
        'INSERT INTO "Queues" (id, queue_name, status, created_date) '
        "VALUES (:id, 'big', 'FAILED', :now)",
        id=stored_id(store, uuid.uuid4()),
        now=datetime(2025, 1, 2),
    )
    raw_sql(store, """UPDATE "Queues" SET status = 'DONE' WHERE reference IN ('r1', 'r2')""")
    counts = _exact(store)["big"]
    assert (counts[QueueStatus.FAILED], counts[QueueStatus.DONE]) == (1, 2)


def _fault_half_way(store: Store, reference: str) -> None:
    """A real failure inside the bulk insert: the database refuses one row half-way."""
    if store.dialect == "sqlite":
        ddl = [
            'CREATE TRIGGER test_fault BEFORE INSERT ON "Queues" '
            f"WHEN NEW.reference = '{reference}' BEGIN SELECT RAISE(ABORT, 'fault'); END"
        ]
    else:
        ddl = [
            "CREATE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.reference = '{reference}' THEN RAISE EXCEPTION 'fault'; END IF; "
            "RETURN NEW; END $$",
            'CREATE TRIGGER test_fault BEFORE INSERT ON "Queues" '
            "FOR EACH ROW EXECUTE PROCEDURE test_fault()",
        ]
    with store.engine.begin() as connection:
        for statement in ddl:
            connection.exec_driver_sql(statement)


def test_a_large_bulk_create_that_fails_half_way_changes_no_count(store: Store) -> None:
    size = ROW_TRIGGERS_ABOVE * 3
    store.bulk_create_queue_elements("a", [f"x{n}" for n in range(size)], [None] * size)
    before = _exact(store)
    _fault_half_way(store, f"r{size // 2}")
    with pytest.raises(Exception, match="fault"):  # the driver's error on PostgreSQL (COPY)
        store.bulk_create_queue_elements("a", [f"r{n}" for n in range(size)], [None] * size)
    assert _exact(store) == before  # nothing inserted, nothing counted
    assert _insert_trigger_present(store)  # the rollback kept the count trigger
    assert store.get_queue_elements("a", include_count=True)[1] == size
    # The next bulk create and a raw insert are counted as usual.
    store.bulk_create_queue_elements("a", [f"y{n}" for n in range(size)], [None] * size)
    raw_sql(
        store,
        'INSERT INTO "Queues" (id, queue_name, status, created_date) '
        "VALUES (:id, 'a', 'NEW', :now)",
        id=stored_id(store, uuid.uuid4()),
        now=datetime(2025, 1, 2),
    )
    assert _exact(store)["a"][QueueStatus.NEW] == 2 * size + 1

"""SQLite's opt-in search index kept in the background (issue 31), as PostgreSQL's
(tests/integration/test_search_backlog.py): row triggers only note which rows changed
(`Queue_Search_Pending`, with the text a changed row was indexed with); the watchdog's
lease holder updates the FTS5 table later. A search must find exactly what the plain
LIKE finds at every moment, whoever writes; and after indexing the FTS table must match
`Queues` exactly, which FTS5's own integrity check verifies (rank 1 compares the index
with the content table: a wrong 'delete' leaves entries it reports as corrupt)."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from openorch import migrate
from openorch.alerts.watchdog import Watchdog
from openorch.store import Store, build_engine
from openorch.store.queues import search
from openorch.store.queues.bulk_triggers import ROW_TRIGGERS_ABOVE, SEARCH_TRIGGER
from openorch.store.queues.elements import _QUEUES
from support.search_checks import found, migration, unindexed, waiting

PENDING = f'"{search.PENDING_TABLE}"'


@pytest.fixture
def indexed(sqlite_db_url: str) -> Iterator[Store]:
    store = Store(sqlite_db_url)
    assert store.rebuild_search_index() is None
    assert store._search_indexed() and store.indexes_in_background()
    yield store
    store.close()


def _notes(store: Store) -> int:
    with store.engine.connect() as connection:
        return int(connection.exec_driver_sql(f"SELECT count(*) FROM {PENDING}").scalar() or 0)


def _index_matches_the_rows(store: Store) -> None:
    """FTS5's check of the index against `Queues` (raises when an entry is missing, left
    over or made from other text)."""
    with store.engine.begin() as connection:
        connection.exec_driver_sql(
            'INSERT INTO "Queue_Search" ("Queue_Search", rank) VALUES (\'integrity-check\', 1)'
        )


def _index_all(store: Store) -> int:
    done = 0
    while batch := store.index_search_backlog(seconds=60):
        done += batch
    return done


def test_writes_are_found_before_and_after_they_are_indexed(indexed: Store) -> None:
    store, plain = indexed, unindexed(indexed)
    store.bulk_create_queue_elements("q", ["inv-1", "inv-2", "inv-3"], ["red apple", "green", None])
    single = store.create_queue_element("q", "single", "red pepper")
    assert waiting(store) == 4  # noted in the writers' transactions, not yet indexed
    with pytest.raises(sa.exc.DatabaseError):
        _index_matches_the_rows(store)  # the FTS table has not seen them
    assert found(store, "q", "red ") == found(plain, "q", "red ") != set()

    assert store.index_search_backlog() == 4
    assert _notes(store) == 0
    _index_matches_the_rows(store)

    # Changed twice: the note keeps the text the index holds (the first), the search
    # finds by the new text only.
    store.update_queue_element(single.id, message="now yellow")
    store.update_queue_element(single.id, data="blue pepper")
    assert waiting(store) == 1
    assert single.id not in found(store, "q", "red pepper")
    assert found(store, "q", "yellow") == found(store, "q", "blue pep") == {single.id}
    # Deleted: never found meanwhile; its entries go with the next batch.
    gone = next(iter(found(store, "q", "apple")))
    store.delete_queue_element(gone)
    assert found(store, "q", "apple") == set()
    assert waiting(store) == 1  # a deleted element is not waited for
    assert store.index_search_backlog() == 2
    _index_matches_the_rows(store)
    for term in ("red", "pepper", "yellow", "inv-", "green", "apple"):
        assert found(store, "q", term) == found(plain, "q", term), term


def test_a_rowid_given_again_after_a_delete(indexed: Store) -> None:
    """SQLite gives the largest rowid again once its row is deleted: the new row's note
    must still remove the old row's entries (indexed, then deleted, then reused)."""
    store = indexed
    store.create_queue_element("q", "keep", "stays here")
    last = store.create_queue_element("q", "old", "old words")
    store.index_search_backlog()
    store.delete_queue_element(last.id)
    reused = store.create_queue_element("other", "new", "new words")
    with store.engine.connect() as connection:
        rowids = connection.exec_driver_sql(f"SELECT element, gone, indexed FROM {PENDING}").all()
    assert rowids == [(2, 0, 1)]  # one note: the old text to remove, not gone
    assert found(store, "other", "new words") == {reused.id}
    assert found(store, "q", "old words") == set()
    assert store.index_search_backlog() == 1
    _index_matches_the_rows(store)
    assert found(store, "other", "new words") == {reused.id}


def test_an_element_moved_to_another_queue_is_found_there(indexed: Store) -> None:
    store = indexed
    element = store.create_queue_element("from", "ref", "moving text")
    store.index_search_backlog()
    with store.engine.begin() as connection:  # as an admin's SQL or the original might
        connection.exec_driver_sql("UPDATE \"Queues\" SET queue_name = 'to'")
    assert found(store, "to", "moving") == {element.id}
    assert found(store, "from", "moving") == set()
    store.index_search_backlog()
    _index_matches_the_rows(store)
    assert found(store, "to", "moving") == {element.id}


def test_a_large_bulk_create_notes_its_rows_in_one_statement(indexed: Store) -> None:
    """Above ROW_TRIGGERS_ABOVE the insert trigger is out for the batch and the new rowids
    are noted at once; the trigger is back afterwards, as it was; indexing in small
    batches, every part is found throughout."""
    store, plain = indexed, unindexed(indexed)
    store.create_queue_element("big", "before", "item before")
    count = ROW_TRIGGERS_ABOVE * 2 + 500
    with store.engine.connect() as connection:
        stored = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = ?", (SEARCH_TRIGGER,)
        ).scalar()
    statements: list[str] = []
    store.engine.dispose()  # new connections, each traced (the insert is the driver's)
    sa.event.listen(
        store.engine,
        "connect",
        lambda connection, _record: connection.set_trace_callback(statements.append),
    )
    store.bulk_create_queue_elements(
        "big", [f"r{n:05d}" for n in range(count)], [f"item {n:05d}" for n in range(count)]
    )
    assert f"DROP TRIGGER {SEARCH_TRIGGER}" in statements
    notes = [s for s in statements if s.startswith(f"INSERT INTO {PENDING}")]
    assert len(notes) == 1, notes  # one statement, no trigger per row
    with store.engine.connect() as connection:
        assert (
            connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = ?", (SEARCH_TRIGGER,)
            ).scalar()
            == stored
        )
    assert waiting(store) == count + 1
    done = []
    while True:
        with store.engine.begin() as connection:
            batch = search.index_backlog(connection, limit=1_000)
        if not batch:
            break
        done.append(batch)
        for term in ("item before", "item 00000", "item 01500", "item 02499"):
            assert len(found(store, "big", term)) == 1, (done, term)
    assert done == [1_000, 1_000, 501]
    _index_matches_the_rows(store)
    assert found(store, "big", "item 0249") == found(plain, "big", "item 0249")


def test_a_failed_bulk_create_leaves_no_note_and_the_trigger(indexed: Store) -> None:
    """The database refuses a row half-way: nothing is inserted or noted, and the
    rollback keeps the search trigger."""
    store = indexed
    count = ROW_TRIGGERS_ABOVE * 2
    with store.engine.begin() as connection:
        connection.exec_driver_sql(
            'CREATE TRIGGER test_fault BEFORE INSERT ON "Queues" '
            f"WHEN NEW.reference = 'r{count // 2}' BEGIN SELECT RAISE(ABORT, 'fault'); END"
        )
    with pytest.raises(Exception, match="fault"):
        store.bulk_create_queue_elements("q", [f"r{n}" for n in range(count)], ["x"] * count)
    assert _notes(store) == 0
    assert store._search_indexed()  # the trigger is there (rolled back with the rest)
    store.create_queue_element("q", "after", "found after")
    assert len(found(store, "q", "found after")) == 1
    assert waiting(store) == 1


def test_a_large_backlog_makes_searches_unindexed(
    indexed: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, plain = indexed, unindexed(indexed)
    monkeypatch.setattr(search, "PENDING_LIMIT", 10)
    store.bulk_create_queue_elements("q", [f"r{n}" for n in range(8)], ["pear"] * 8)
    assert store._search_prefilter("pear", "q") != []
    store.bulk_create_queue_elements("q", [f"s{n}" for n in range(8)], ["pear"] * 8)
    assert store._search_prefilter("pear", "q") == []  # 16 waiting: the plain LIKE
    assert len(found(store, "q", "pear")) == 16 == len(found(plain, "q", "pear"))
    store.index_search_backlog()
    assert store._search_prefilter("pear", "q") != []
    assert len(found(store, "q", "pear")) == 16


def test_the_lease_holder_indexes_the_backlog(indexed: Store) -> None:
    store = indexed
    store.bulk_create_queue_elements("q", ["a", "b"], ["one text", "two text"])
    other = Watchdog(store, "vm2", lambda _line: None, interval=30)
    holder = Watchdog(store, "vm1", lambda _line: None, interval=30)
    holder.tick()
    assert holder.is_holder and _notes(store) == 0
    store.create_queue_element("q", "c", "three text")
    other.tick()
    assert not other.is_holder and waiting(store) == 1  # only the holder indexes
    holder.tick()
    assert _notes(store) == 0
    _index_matches_the_rows(store)


def test_an_idle_tick_reads_instead_of_taking_the_write_lock(indexed: Store) -> None:
    """With nothing noted the indexer only reads: a writer holding SQLite's one write lock
    (another Scheduler's claim, say) does not make the lease holder wait on every tick."""
    store = indexed
    store.bulk_create_queue_elements("q", ["a"], ["text"])
    _index_all(store)
    writer = sqlite3.connect(store.engine.url.database or "", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        assert store.index_search_backlog() == 0
        assert time.monotonic() - started < 1.0
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_batches_pause_for_writers(indexed: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each full batch is followed by a pause as long as it, so writers waiting for the
    one write lock get it in between; the last (partial) batch is not."""
    store = indexed
    monkeypatch.setattr(search, "SQLITE_INDEX_BATCH", 100)
    store.bulk_create_queue_elements("q", [f"r{n}" for n in range(350)], ["x"] * 350)
    pauses: list[float] = []
    monkeypatch.setattr(search.time, "sleep", pauses.append)
    assert store.index_search_backlog(seconds=60) == 350
    assert len(pauses) == 3 and all(0 < pause < 5 for pause in pauses)


#: A separate indexer process whose one batch has done its work and then waits before
#: its transaction commits (the moment to kill it), saying so on stdout.
_KILLED_INDEXER = """
import sys
import time
from openorch.store import Store
from openorch.store.queues import search

work = search._sqlite_index_backlog
def held(connection, limit):
    done = work(connection, limit)
    print("worked", done, flush=True)
    time.sleep(60)
    return done
search._sqlite_index_backlog = held
search.SQLITE_INDEX_BATCH = 1_000_000
Store(sys.argv[1]).index_search_backlog(seconds=3600)
print("committed", flush=True)
"""


def test_an_indexer_killed_in_its_batch_leaves_nothing_half_done(indexed: Store) -> None:
    """SIGKILL after the indexer's batch has written the FTS table and deleted the notes,
    before it commits: the batch was one transaction, so every note is still there and
    searches stay exact; the next indexer finishes the work with an index that matches
    the rows."""
    store, plain = indexed, unindexed(indexed)
    count = 5_000
    store.bulk_create_queue_elements(
        "kill", [f"r{n}" for n in range(count)], [f"item {n:05d}" for n in range(count)]
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    indexer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_INDEXER, str(store.engine.url)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert indexer.stdout is not None
    assert indexer.stdout.readline().split() == ["worked", str(count)]
    os.kill(indexer.pid, signal.SIGKILL)
    assert "committed" not in indexer.stdout.read()
    indexer.wait(10)
    assert _notes(store) == count  # the batch rolled back as a whole
    for term in ("item 0000", "item 04999", "r123"):
        assert found(store, "kill", term) == found(plain, "kill", term) != set(), term
    assert _index_all(store) == count
    _index_matches_the_rows(store)
    assert len(found(store, "kill", "item 0000")) == 10


def _both_in_one_snapshot(engine: sa.Engine, queue: str, term: str) -> tuple[set, set]:
    """The indexed search's condition and the plain LIKE in one read transaction (a
    WAL snapshot): at any single moment they must agree exactly."""
    exact = sa.or_(
        _QUEUES.c.reference.startswith(term, autoescape=True),
        _QUEUES.c.data.contains(term, autoescape=True),
        _QUEUES.c.message.contains(term, autoescape=True),
    )
    base = sa.select(_QUEUES.c.id).where(_QUEUES.c.queue_name == queue, exact)
    with engine.connect() as connection, connection.begin():
        indexed = set(
            connection.execute(base.where(search.prefilter("sqlite", term, queue))).scalars()
        )
        plain = set(connection.execute(base).scalars())
    return indexed, plain


def test_concurrent_writers_and_the_indexer_never_disagree(indexed: Store) -> None:
    """Writers (ours, and raw SQL through Python's sqlite3 as the original's would) insert,
    change and delete while an indexer runs in small batches; at every moment the
    indexed search equals the plain LIKE, and at the end the index matches the rows."""
    store = indexed
    path = store.engine.url.database
    assert path
    words = ["amber", "basil", "cedar", "delta"]
    store.bulk_create_queue_elements(
        "churn", [f"r{n}" for n in range(200)], [random.choice(words) for _ in range(200)]
    )
    stop = threading.Event()
    errors: list[BaseException] = []

    def guarded(work):  # type: ignore[no-untyped-def]
        def run() -> None:
            try:
                while not stop.is_set():
                    work()
            except BaseException as error:  # reported by the test below
                errors.append(error)

        return threading.Thread(target=run, daemon=True)

    raw = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)

    def raw_writer() -> None:
        raw.execute(
            'UPDATE "Queues" SET data = ? WHERE rowid IN (SELECT rowid FROM "Queues" '
            "WHERE queue_name = 'churn' ORDER BY random() LIMIT 3)",
            (random.choice(words) + " " + random.choice(words),),
        )
        if random.random() < 0.2:
            raw.execute(
                'DELETE FROM "Queues" WHERE rowid = (SELECT max(rowid) FROM "Queues" '
                "WHERE queue_name = 'churn' AND reference LIKE 'r%')"
            )

    def our_writer() -> None:
        element = store.create_queue_element("churn", f"n{uuid.uuid4().hex[:6]}", "cedar new")
        store.update_queue_element(element.id, message=random.choice(words))
        if random.random() < 0.5:
            store.delete_queue_element(element.id)

    def indexer() -> None:
        store._write_core(lambda connection: search.index_backlog(connection, limit=7))

    threads = [guarded(raw_writer), guarded(our_writer), guarded(indexer)]
    for thread in threads:
        thread.start()
    checks = 0
    deadline = time.monotonic() + 4
    try:
        while time.monotonic() < deadline:
            for term in ("basil", "cedar", "delta"):
                found, plain = _both_in_one_snapshot(store.engine, "churn", term)
                assert found == plain, term
                checks += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        raw.close()
    assert not errors, errors
    assert checks > 20
    _index_all(store)
    assert _notes(store) == 0
    _index_matches_the_rows(store)


def test_the_upgrade_switches_to_notes_and_the_downgrade_back(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0d20a1e5c001")
    with engine.begin() as connection:  # the opt-in index as 0d20a1e5c001 made it
        search.uninstall(connection)
        connection.exec_driver_sql(search._SQLITE_FTS)
        for statement in migration("0d21a1e5c001")._REVISION_0D20:
            connection.exec_driver_sql(statement)
        connection.exec_driver_sql(search._SQLITE_REBUILD[-1])
    Store(engine).bulk_create_queue_elements("q", ["a", "b"], ["made before", "also made"])
    assert not Store(engine)._search_indexed()  # old triggers: the plain LIKE until upgraded
    big = ROW_TRIGGERS_ABOVE + 5  # a large bulk create keeps the old trigger (no notes yet)
    Store(engine).bulk_create_queue_elements("big", [f"b{n}" for n in range(big)], ["b"] * big)

    migrate.upgrade(engine)
    store = Store(engine)
    assert store._search_indexed()
    assert _notes(store) == 0  # the FTS table was up to date: nothing to redo
    _index_matches_the_rows(store)
    store.create_queue_element("q", "c", "made after the upgrade")
    store.update_queue_element(next(iter(found(store, "q", "also made"))), message="changed")
    assert waiting(store) == 2
    assert len(found(store, "q", "made")) == 3

    with engine.begin() as connection:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0d20a1e5c001")
    with engine.connect() as connection:
        tables = connection.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = ?", (search.PENDING_TABLE,)
        ).scalar()
    assert tables == 0
    old = Store(engine)
    _index_matches_the_rows(old)  # the notes were indexed before the table went
    old.create_queue_element("q", "d", "made after the downgrade")
    old.bulk_create_queue_elements("big", [f"c{n}" for n in range(big)], ["c"] * big)
    _index_matches_the_rows(old)  # by the writer again, in its transaction
    migrate.upgrade(engine)
    upgraded = Store(engine)
    assert len(found(upgraded, "q", "made")) == 4
    _index_matches_the_rows(upgraded)
    engine.dispose()

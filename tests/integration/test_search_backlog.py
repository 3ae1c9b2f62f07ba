"""PostgreSQL's search index kept in the background (issue 31): writers only note which
elements changed (`Queue_Search_Pending`); the watchdog's lease holder makes their
documents later. A search must find exactly what the plain LIKE finds at every moment,
before, during and after indexing, whoever writes; the documents must end exactly as
the rows say; and the migration to this design and back ends with every document made."""

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command

from openorch import migrate
from openorch.alerts.watchdog import Watchdog
from openorch.store import Store, build_engine
from openorch.store.queues import search
from openorch.store.queues.elements import _QUEUES
from support.search_checks import found, migration, unindexed, waiting

pytestmark = pytest.mark.postgres

PENDING = f'"{search.PENDING_TABLE}"'


@pytest.fixture
def pg_store(pg_db_url: str) -> Iterator[Store]:
    store = Store(pg_db_url)
    assert store._search_indexed()
    yield store
    store.close()


def _documents(store: Store, columns: str = "queue_name, document") -> dict[uuid.UUID, tuple]:
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(f'SELECT id, {columns} FROM "Queue_Search"').all()
    return {row[0]: tuple(row[1:]) for row in rows}


def _expected_documents(store: Store, columns: str = "queue_name, ") -> dict[uuid.UUID, tuple]:
    """What the documents must be: made from the rows as they are now."""
    document = search.PG_DOCUMENT.format(row="")
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            f'SELECT id, {columns}{document} FROM "Queues" '
            "WHERE COALESCE(reference, data, message) IS NOT NULL"
        ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_writes_are_found_before_and_after_their_documents_are_made(pg_store: Store) -> None:
    store, plain = pg_store, unindexed(pg_store)
    store.bulk_create_queue_elements("q", ["inv-1", "inv-2", "inv-3"], ["red apple", "green", None])
    single = store.create_queue_element("q", "single", "red pepper")
    assert _documents(store) == {}  # nothing made in the writers' transactions
    assert waiting(store) == 4
    assert found(store, "q", "red ") == found(plain, "q", "red ") != set()

    assert store.index_search_backlog() == 4
    assert waiting(store) == 0
    assert _documents(store) == _expected_documents(store)

    # A change of text: the old document is stale until the next batch, and the search
    # still finds by the new text only (the element is pending).
    store.update_queue_element(single.id, message="now yellow")
    store.update_queue_element(single.id, data="blue pepper")
    assert waiting(store) == 2
    assert single.id not in found(store, "q", "red pepper")
    assert found(store, "q", "yellow") == {single.id}
    assert found(store, "q", "blue pep") == {single.id}
    # Deleted: its document goes with the next batch, and it is never found meanwhile.
    gone = next(iter(found(store, "q", "apple")))
    store.delete_queue_element(gone)
    assert found(store, "q", "apple") == set()
    assert store.index_search_backlog() == 3
    assert _documents(store) == _expected_documents(store)
    assert gone not in _documents(store)
    for term in ("red", "pepper", "yellow", "inv-", "green"):
        assert found(store, "q", term) == found(plain, "q", term), term


def test_a_big_note_is_indexed_in_parts_and_found_throughout(pg_store: Store) -> None:
    store, plain = pg_store, unindexed(pg_store)
    count = 2_500
    store.bulk_create_queue_elements(
        "big", [f"r{n:05d}" for n in range(count)], [f"item {n:05d}" for n in range(count)]
    )
    done = []
    while True:
        with store.engine.begin() as connection:
            batch = search.index_backlog(connection, limit=1_000)
        if not batch:
            break
        done.append(batch)
        # Found, whichever part is indexed: the first, the last, one in the middle.
        for term in ("item 00000", "item 01500", "item 02499"):
            assert len(found(store, "big", term)) == 1, (done, term)
    assert done == [1_000, 1_000, 500]
    assert _documents(store) == _expected_documents(store)
    assert found(store, "big", "item 0249") == found(plain, "big", "item 0249")


def test_one_indexer_at_a_time(pg_store: Store) -> None:
    store = pg_store
    store.create_queue_element("q", "a", "waiting text")
    with store.engine.connect() as first, first.begin():
        assert search.index_backlog(first) == 1  # holds the lock until it commits
        assert store.index_search_backlog() == 0  # a second one gives way at once
        with store.engine.begin() as connection:
            assert search.index_backlog(connection) is None
    store.create_queue_element("q", "b", "more text")
    assert store.index_search_backlog() == 1
    assert _documents(store) == _expected_documents(store)


def test_a_large_backlog_makes_searches_unindexed(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store, plain = pg_store, unindexed(pg_store)
    monkeypatch.setattr(search, "PENDING_LIMIT", 10)
    store.bulk_create_queue_elements("q", [f"r{n}" for n in range(8)], ["pear"] * 8)
    assert store._search_prefilter("pear", "q") != []  # 8 waiting: the index and the notes
    store.bulk_create_queue_elements("q", [f"s{n}" for n in range(8)], ["pear"] * 8)
    with caplog.at_level(logging.INFO, logger="openorch.store.queues.search"):
        assert store._search_prefilter("pear", "q") == []  # 16: the plain LIKE
        assert len(found(store, "q", "pear")) == 16 == len(found(plain, "q", "pear"))
    assert caplog.text.count("elements behind") == 1  # said once
    store.index_search_backlog()
    assert store._search_prefilter("pear", "q") != []
    assert len(found(store, "q", "pear")) == 16


def test_the_lease_holder_indexes_the_backlog(pg_store: Store) -> None:
    store = pg_store
    store.bulk_create_queue_elements("q", ["a", "b"], ["one text", "two text"])
    other = Watchdog(store, "vm2", lambda _line: None, interval=30)
    holder = Watchdog(store, "vm1", lambda _line: None, interval=30)
    holder.tick()
    assert holder.is_holder and waiting(store) == 0
    store.create_queue_element("q", "c", "three text")
    other.tick()
    assert not other.is_holder and waiting(store) == 1  # only the holder indexes
    holder.tick()
    assert waiting(store) == 0
    assert _documents(store) == _expected_documents(store)


def _both_in_one_snapshot(engine: sa.Engine, queue: str, term: str) -> tuple[set, set]:
    """The indexed search's condition and the plain LIKE, in one REPEATABLE READ
    snapshot: at any single moment they must agree exactly."""
    exact = sa.or_(
        _QUEUES.c.reference.startswith(term, autoescape=True),
        _QUEUES.c.data.contains(term, autoescape=True),
        _QUEUES.c.message.contains(term, autoescape=True),
    )
    base = sa.select(_QUEUES.c.id).where(_QUEUES.c.queue_name == queue, exact)
    repeatable = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with repeatable as connection, connection.begin():
        indexed = set(
            connection.execute(base.where(search.prefilter("postgresql", term, queue))).scalars()
        )
        plain = set(connection.execute(base).scalars())
    return indexed, plain


def test_concurrent_writers_and_the_indexer_never_disagree(pg_store: Store) -> None:
    """Writers (ours and raw SQL, as the original's) insert, change and delete while an
    indexer runs in small batches; at every moment the indexed search equals the plain
    LIKE, and at the end the documents are exactly the rows'."""
    store = pg_store
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

    def raw_writer() -> None:
        with store.engine.begin() as connection:
            connection.execute(
                sa.text(
                    'UPDATE "Queues" SET data = :data WHERE id IN (SELECT id FROM "Queues" '
                    "WHERE queue_name = 'churn' ORDER BY random() LIMIT 3)"
                ),
                {"data": random.choice(words) + " " + random.choice(words)},
            )

    def our_writer() -> None:
        element = store.create_queue_element("churn", f"n{uuid.uuid4().hex[:6]}", "cedar new")
        store.update_queue_element(element.id, message=random.choice(words))
        if random.random() < 0.5:
            store.delete_queue_element(element.id)

    def indexer() -> None:
        with store.engine.begin() as connection:
            search.index_backlog(connection, limit=7)

    threads = [guarded(raw_writer), guarded(our_writer), guarded(indexer)]
    for thread in threads:
        thread.start()
    checks = 0
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        for term in ("basil", "cedar", "delta"):
            indexed, plain = _both_in_one_snapshot(store.engine, "churn", term)
            assert indexed == plain, term
            checks += 1
    stop.set()
    for thread in threads:
        thread.join(10)
    assert not errors, errors
    assert checks > 20
    while store.index_search_backlog():
        pass
    assert waiting(store) == 0
    assert _documents(store) == _expected_documents(store)


def test_the_upgrade_indexes_in_the_background_and_the_downgrade_puts_back_0d1ca(
    pg_empty_url: str,
) -> None:
    engine = build_engine(pg_empty_url)
    migrate.upgrade(engine, "0d1fa1e5c001")
    with engine.begin() as connection:  # the search objects as 0d1ca1e5c001 made them
        search.uninstall(connection)
        for statement in migration("0d20a1e5c001")._REVISION_0D1CA:
            connection.exec_driver_sql(statement)
    Store(engine).bulk_create_queue_elements("q", ["a", "b"], ["made before", "also made"])
    Store(engine).create_queue_element("other", "c", "made elsewhere")
    with engine.connect() as connection:  # made in the writer's transaction
        assert connection.exec_driver_sql('SELECT count(*) FROM "Queue_Search"').scalar() == 3

    migrate.upgrade(engine)
    store = Store(engine)
    assert store._search_indexed()
    assert _documents(store) == {}  # dropped: the lease holder makes them again
    assert waiting(store) == 3
    assert len(found(store, "q", "made")) == 2  # found meanwhile: all are noted
    assert store.index_search_backlog() == 3
    assert _documents(store) == _expected_documents(store)
    store.create_queue_element("q", "d", "made after the upgrade")
    assert len(found(store, "q", "made")) == 3

    with engine.begin() as connection:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0d1fa1e5c001")
    with engine.connect() as connection:
        assert connection.exec_driver_sql(f"SELECT to_regclass('{PENDING}')").scalar() is None
    old = Store(engine)
    assert _documents(old, "document") == _expected_documents(old, "")  # made in one go
    old.create_queue_element("q", "e", "made after the downgrade")
    assert _documents(old, "document") == _expected_documents(old, "")  # by the writer
    migrate.upgrade(engine)
    upgraded = Store(engine)
    assert len(found(upgraded, "q", "made")) == 4
    upgraded.index_search_backlog()
    assert _documents(upgraded) == _expected_documents(upgraded)
    engine.dispose()


def test_the_index_reads_only_the_searched_queue(pg_store: Store) -> None:
    """A term common in another queue costs this queue's search nothing: the index
    narrows by the queue first (the plan's index scan returns this queue's rows only)."""
    store = pg_store
    store.bulk_create_queue_elements("busy", [f"b{n}" for n in range(300)], ["common words"] * 300)
    store.bulk_create_queue_elements("mine", ["m1", "m2"], ["common words", "rare"])
    store.index_search_backlog()
    captured: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if "document LIKE" in statement and "LIMIT" in statement:  # the page
            captured.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", capture)
    try:
        assert len(found(store, "mine", "common")) == 1
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    with store.engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")  # small tables
        plan = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
        ).scalar()
    scans = list(_nodes(plan[0]["Plan"], search.PG_INDEX))
    assert scans, json.dumps(plan, indent=1)
    assert all(node["Actual Rows"] <= 2 for node in scans), scans


def _nodes(node: dict, index: str) -> Iterator[dict]:
    if node.get("Index Name") == index:
        yield node
    for child in node.get("Plans", []):
        yield from _nodes(child, index)


def test_an_element_moved_to_another_queue_is_found_there(pg_store: Store) -> None:
    store = pg_store
    element = store.create_queue_element("from", "ref", "moving text")
    store.index_search_backlog()
    with store.engine.begin() as connection:  # as an admin's SQL or the original might
        connection.execute(
            sa.text("UPDATE \"Queues\" SET queue_name = 'to' WHERE id = :id"), {"id": element.id}
        )
    assert found(store, "to", "moving") == {element.id}
    assert found(store, "from", "moving") == set()
    assert store.index_search_backlog() == 1
    assert _documents(store)[element.id][0] == "to"
    assert found(store, "to", "moving") == {element.id}


def test_deleted_elements_do_not_hold_searches_back(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pruning deletes elements by the million: their notes only remove documents, so
    they neither count towards the limit that makes searches plain nor are looked up."""
    store = pg_store
    monkeypatch.setattr(search, "PENDING_LIMIT", 10)
    store.bulk_create_queue_elements("q", [f"r{n}" for n in range(30)], ["fig"] * 30)
    store.index_search_backlog()
    store.apply_queue_action("delete", "q", reference="r1")
    with store.engine.begin() as connection:  # as the pruner deletes: one statement
        connection.exec_driver_sql("DELETE FROM \"Queues\" WHERE reference LIKE 'r2%%'")
    assert waiting(store) == 0  # 12 deleted, none waiting to be found
    assert store._search_prefilter("fig", "q") != []  # the index still serves
    assert len(found(store, "q", "fig")) == 18
    assert len(_documents(store)) == 30  # the deleted ones' documents go with the next batch
    assert store.index_search_backlog() == 12
    assert _documents(store) == _expected_documents(store)

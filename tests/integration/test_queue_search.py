"""Substring search served by a trigram index (issue 31): the same elements as the plain
LIKE for any text and term (a property test on SQLite and PostgreSQL), kept by triggers
whoever writes, and the fallbacks when the index cannot be made."""

import logging
import sqlite3
import uuid

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openorch import migrate
from openorch.store import Store, build_engine
from openorch.store.queues import search
from support.search_checks import unindexed

#: Letters in both cases, LIKE's wildcards and escape, quotes FTS5 treats specially,
#: letters whose case only Unicode folds (SQLite's LIKE folds ASCII only).
ALPHABET = "aAbBcC xyz%_/\\\"'*éÉßẞ0"

texts = st.one_of(st.none(), st.text(alphabet=ALPHABET, max_size=12))


@pytest.fixture(autouse=True)
def _indexed(request: pytest.FixtureRequest) -> None:
    """SQLite's index is opt-in: the tests that use the `store` fixture add it."""
    if "store" in request.fixturenames:
        store = request.getfixturevalue("store")
        if store.dialect == "sqlite":
            assert not store._search_indexed()  # the upgrade leaves it out
            assert store.rebuild_search_index() is None
        assert store._search_indexed()


def _ids(store: Store, queue: str, term: str) -> set[str]:
    rows, total = store.get_queue_elements(queue, search_term=term, limit=None, include_count=True)
    assert total == len(rows)
    return {str(row.id) for row in rows}


def test_the_index_is_there_and_used(store: Store) -> None:
    assert store._search_indexed()
    assert store._search_prefilter("abc", "q") != []
    assert store._search_prefilter("ab", "q") == []  # no trigram: the plain LIKE
    store.create_queue_element("q", "ref", "some payload", None)
    assert len(store.get_queue_elements("q", search_term="payload")) == 1
    assert store.index_search_backlog() == 1  # made after the write, on both
    # Take the row out of the index by hand: the indexed search no longer finds it, so the
    # index decides what is read (the plain LIKE still finds it).
    with store.engine.begin() as connection:
        if store.dialect == "sqlite":
            connection.exec_driver_sql(
                'INSERT INTO "Queue_Search" ("Queue_Search", rowid, queue_name, reference, '
                "data, message) SELECT 'delete', rowid, queue_name, reference, data, message "
                'FROM "Queues"'
            )
        else:
            connection.exec_driver_sql('DELETE FROM "Queue_Search"')
    assert store.get_queue_elements("q", search_term="payload") == ()
    assert len(unindexed(store).get_queue_elements("q", search_term="payload")) == 1
    assert store.rebuild_search_index() is None  # rebuilt from the rows
    assert len(store.get_queue_elements("q", search_term="payload")) == 1
    if store.dialect == "postgresql":
        with store.engine.connect() as connection:
            connection.exec_driver_sql("SET enable_seqscan = off")  # a tiny table
            plan = "\n".join(
                connection.execute(
                    sa.text('EXPLAIN SELECT id FROM "Queue_Search" WHERE document LIKE :p'),
                    {"p": "%payload%"},
                ).scalars()
            )
        assert search.PG_INDEX in plan


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(st.tuples(texts, texts, texts), min_size=1, max_size=8),
    term=st.text(alphabet=ALPHABET, min_size=1, max_size=6),
)
def test_indexed_search_finds_what_the_plain_like_finds(
    store: Store, rows: list[tuple[str | None, str | None, str | None]], term: str
) -> None:
    queue = uuid.uuid4().hex
    for reference, data, message in rows:
        element = store.create_queue_element(queue, reference, data)
        if message is not None:
            store.update_queue_element(element.id, message=message)
    # Also a term taken from a stored text, so matches are common, in another case.
    stored = next((text for row in rows for text in row if text and len(text) >= 3), None)
    terms = [term] + ([stored[1:4], stored[:3].swapcase()] if stored else [])
    for each in terms:
        assert _ids(store, queue, each) == _ids(unindexed(store), queue, each), each
    store.apply_queue_action("delete", queue)


def test_the_index_follows_raw_sql_writes(store: Store) -> None:
    element = store.create_queue_element("q", "ref", "old words")
    key = element.id.hex if store.dialect == "sqlite" else element.id
    with store.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE \"Queues\" SET data = 'new words' WHERE id = :id"), {"id": key}
        )
    assert store.get_queue_elements("q", search_term="old w") == ()
    assert len(store.get_queue_elements("q", search_term="new w")) == 1
    with store.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE \"Queues\" SET message = 'said so' WHERE id = :id"), {"id": key}
        )
    assert len(store.get_queue_elements("q", search_term="said")) == 1
    store.delete_queue_element(element.id)
    assert store.get_queue_elements("q", search_term="new w") == ()
    assert store.count_queue_action("delete", "q", search_term="new w") == 0


def test_the_search_index_is_made_for_the_elements_already_there(empty_url: str) -> None:
    engine = build_engine(empty_url)
    migrate.upgrade(engine, "0d1ba1e5c001")
    Store(engine).bulk_create_queue_elements("q", ["alpha", "beta"], ["one thing", "another"])
    migrate.upgrade(engine)
    upgraded = Store(engine)
    if upgraded.dialect == "sqlite":  # opt-in there
        assert upgraded.rebuild_search_index() is None
    assert upgraded._search_indexed()
    assert len(upgraded.get_queue_elements("q", search_term="thing")) == 1
    assert len(upgraded.get_queue_elements("q", search_term="other")) == 1
    engine.dispose()


def test_without_the_index_search_is_the_plain_like_and_says_so(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    store.create_queue_element("q", "ref", "some payload")
    with store.engine.begin() as connection:
        search.uninstall(connection)
    fresh = Store(store.engine)
    with caplog.at_level(logging.INFO, logger="openorch.store.queues.search"):
        assert not fresh._search_indexed()
    assert "plain LIKE" in caplog.text
    assert len(fresh.get_queue_elements("q", search_term="payload")) == 1
    assert fresh.rebuild_search_index() is None  # made again
    fresh.create_queue_element("q", "ref2", "more payload")
    assert len(fresh.get_queue_elements("q", search_term="payload")) == 2


def test_an_sqlite_without_trigram_gets_no_index(
    sqlite_empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert search.sqlite_has_trigram("3.34.0") and search.sqlite_has_trigram("3.45.1")
    assert not search.sqlite_has_trigram("3.33.0")
    engine = build_engine(sqlite_empty_url)
    migrate.upgrade(engine, "0d1ba1e5c001")
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.33.0")  # what an old Python has
    migrate.upgrade(engine)  # goes on without the index
    with engine.connect() as connection:
        assert not search.search_indexed(connection)
    store = Store(engine)
    store.create_queue_element("q", "ref", "some payload")
    assert len(store.get_queue_elements("q", search_term="payload")) == 1
    assert "3.34" in (store.rebuild_search_index() or "")
    engine.dispose()


@pytest.mark.postgres
def test_without_pg_trgm_the_upgrade_goes_on_with_the_plain_like(pg_empty_url: str) -> None:
    """A role that may not create extensions (no CREATE on the database): no index, a
    reason, and nothing else fails."""
    engine = build_engine(pg_empty_url)
    migrate.upgrade(engine, "0d1ba1e5c001")
    role = f"nocreate_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {role}")
        connection.exec_driver_sql(f'GRANT ALL ON "Queues" TO {role}')
        connection.exec_driver_sql(f"SET LOCAL ROLE {role}")
        problem = search.install(connection)
        assert problem is not None and "pg_trgm" in problem and "plain LIKE" in problem
        assert not search.search_indexed(connection)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP OWNED BY {role}")
        connection.exec_driver_sql(f"DROP ROLE {role}")
    engine.dispose()


def test_sqlite_reads_only_the_searched_queues_candidates(sqlite_db_url: str) -> None:
    """As on PostgreSQL (tests/integration/test_search_backlog.py): the FTS5 query filters
    by the queue's column, so a term common in another queue costs this one nothing."""
    store = Store(sqlite_db_url)
    assert store.rebuild_search_index() is None
    store.bulk_create_queue_elements("busy", [f"b{n}" for n in range(300)], ["common words"] * 300)
    store.bulk_create_queue_elements('mine "x*"', ["m1", "m2"], ["common words", "rare"])
    assert store.index_search_backlog() == 302  # the FTS table is filled after the writes

    def candidates(queue: str | None) -> int:
        with store.engine.connect() as connection:
            return int(
                connection.exec_driver_sql(
                    'SELECT count(*) FROM "Queue_Search" WHERE "Queue_Search" MATCH ?',
                    (search.trigram_query("common", queue),),
                ).scalar()
            )

    assert candidates(None) == 301
    assert candidates('mine "x*"') == 1  # quotes and FTS5 operators in a name are text
    assert candidates("busy") == 300
    found = store.get_queue_elements('mine "x*"', search_term="common")
    assert [element.reference for element in found] == ["m1"]
    store.close()


def test_sqlite_index_of_the_previous_revision_is_made_again_with_the_queue(
    sqlite_empty_url: str,
) -> None:
    engine = build_engine(sqlite_empty_url)
    migrate.upgrade(engine, "0d1fa1e5c001")
    with engine.begin() as connection:  # the opt-in index as 0d1ca1e5c001's code made it
        for statement in _SQLITE_0D1CA:
            connection.exec_driver_sql(statement)
    Store(engine).create_queue_element("q", "kept", "made before the upgrade")
    assert not Store(engine)._search_indexed()  # the old layout: plain LIKE meanwhile
    migrate.upgrade(engine)
    upgraded = Store(engine)
    assert upgraded._search_indexed()
    assert [e.reference for e in upgraded.get_queue_elements("q", search_term="before")] == ["kept"]
    with engine.connect() as connection:
        matched = connection.exec_driver_sql(
            'SELECT count(*) FROM "Queue_Search" WHERE "Queue_Search" MATCH ?',
            (search.trigram_query("before", "q"),),
        ).scalar()
    assert matched == 1  # in the index, not only found by the LIKE
    engine.dispose()


_SQLITE_0D1CA = (
    """CREATE VIRTUAL TABLE "Queue_Search" USING fts5(
  reference, data, message, content='Queues', content_rowid='rowid',
  tokenize='trigram', columnsize=0, detail='none')""",
    """CREATE TRIGGER queue_search_insert AFTER INSERT ON "Queues" BEGIN
  INSERT INTO "Queue_Search" (rowid, reference, data, message)
  VALUES (NEW.rowid, NEW.reference, NEW.data, NEW.message); END""",
    """CREATE TRIGGER queue_search_delete AFTER DELETE ON "Queues" BEGIN
  INSERT INTO "Queue_Search" ("Queue_Search", rowid, reference, data, message)
  VALUES ('delete', OLD.rowid, OLD.reference, OLD.data, OLD.message); END""",
    """CREATE TRIGGER queue_search_update AFTER UPDATE OF reference, data, message ON "Queues"
BEGIN
  INSERT INTO "Queue_Search" ("Queue_Search", rowid, reference, data, message)
  VALUES ('delete', OLD.rowid, OLD.reference, OLD.data, OLD.message);
  INSERT INTO "Queue_Search" (rowid, reference, data, message)
  VALUES (NEW.rowid, NEW.reference, NEW.data, NEW.message); END""",
)

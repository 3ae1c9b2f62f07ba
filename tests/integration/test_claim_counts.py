"""Claims counted by the queue count triggers (issue 29's claim counts, revision
0d22a1e5c001), on SQLite and PostgreSQL: every change of an element's status to
IN_PROGRESS from another counts once per queue, whoever makes it (openorch's claim, raw
SQL as the original's Schedulers write); nothing else counts; compaction keeps the total;
the pseudo-status never shows in the element counts; the upgrade starts the count and
the downgrade stops it and removes the claim rows."""

import uuid

from alembic import command

from openorch import migrate
from openorch.database import QueueStatus
from openorch.store import Store, build_engine
from openorch.store.queues import counts as queue_counts
from support.databases import raw_sql, stored_id
from support.search_checks import migration


def test_every_claim_counts_once_whoever_claims(store: Store) -> None:
    store.set_queue_settings("a", max_attempts=3)
    store.bulk_create_queue_elements("a", [f"r{n}" for n in range(6)], [None] * 6)
    store.create_queue_element("b", "other")
    assert store.claim_counts() == {}
    first = store.get_next_queue_element("a")
    second = store.get_next_queue_element("a")
    assert first is not None and second is not None
    store.set_queue_element_status(first.id, QueueStatus.DONE)  # finishing is no claim
    store.set_queue_element_status(second.id, QueueStatus.NEW)  # back in the queue...
    again = store.get_next_queue_element("a")  # ...and claimed again: a second claim
    assert again is not None and again.id == second.id
    # The original's claim is a plain UPDATE of the status.
    raw_sql(
        store,
        """UPDATE "Queues" SET status = 'IN_PROGRESS' WHERE reference = 'r5'""",
    )
    # Not claims: a message on an element in progress, moving it to another queue, an
    # element inserted already IN_PROGRESS.
    store.update_queue_element(again.id, message="working")
    raw_sql(store, """UPDATE "Queues" SET queue_name = 'b' WHERE reference = 'r5'""")
    raw_sql(
        store,
        'INSERT INTO "Queues" (id, queue_name, status, created_date) '
        "VALUES (:id, 'a', 'IN_PROGRESS', CURRENT_TIMESTAMP)",
        id=stored_id(store, uuid.uuid4()),
    )
    store.get_next_queue_element("b")
    assert store.claim_counts() == {"a": 4, "b": 1}
    # The element counts know nothing of it: exactly the scan's, no pseudo-status.
    counts = store.get_queue_count()
    assert counts == store.count_queues_by_scan()
    assert set(counts["a"]) == set(QueueStatus)
    assert store.get_queue_elements("a", include_count=True)[1] == 6  # the page's total
    assert store.compact_queue_counts() > 0
    assert store.claim_counts() == {"a": 4, "b": 1}  # compaction keeps the total
    assert store.get_queue_count() == counts


def test_claims_of_many_elements_at_once_count_each(store: Store) -> None:
    store.bulk_create_queue_elements("m", [f"r{n}" for n in range(25)], [None] * 25)
    raw_sql(store, """UPDATE "Queues" SET status = 'IN_PROGRESS' WHERE queue_name = 'm'""")
    raw_sql(store, """UPDATE "Queues" SET status = 'IN_PROGRESS' WHERE queue_name = 'm'""")
    assert store.claim_counts() == {"m": 25}  # the second UPDATE changed no status


def test_the_upgrade_starts_counting_claims_and_the_downgrade_stops(empty_url: str) -> None:
    engine = build_engine(empty_url)
    migrate.upgrade(engine, "0d21a1e5c001")
    with engine.begin() as connection:  # 0d1ca1e5c001's update trigger, as it made it
        for statement in migration("0d22a1e5c001")._REVISION_0D1CA[engine.dialect.name]:
            connection.exec_driver_sql(statement)
    store = Store(engine)
    store.bulk_create_queue_elements("q", [f"r{n}" for n in range(4)], [None] * 4)
    store.get_next_queue_element("q")
    assert store.claim_counts() == {}  # not counted before the upgrade
    migrate.upgrade(engine)
    store.get_next_queue_element("q")
    assert store.claim_counts() == {"q": 1}
    with engine.begin() as connection:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0d21a1e5c001")
    assert store.claim_counts() == {}  # the claim rows are gone with the triggers
    store.get_next_queue_element("q")
    assert store.claim_counts() == {}  # and no claim is counted any more
    assert store.get_queue_count() == store.count_queues_by_scan()
    # The code before 0d22a1e5c001 takes a queue's total as the sum of all its rows.
    with engine.connect() as connection:
        every_row = connection.exec_driver_sql(
            """SELECT SUM(delta) FROM "Queue_Counts" WHERE queue_name = 'q'"""
        ).scalar()
    assert every_row == 4
    engine.dispose()


def test_the_replaced_trigger_is_the_update_trigger() -> None:
    """`claim_counting_ddl` picks the statements it replaces by position: they must be
    the update trigger's (SQLite), the update function's (PostgreSQL), the one trigger's
    (SQL Server), each counting claims."""
    sqlite, postgresql, mssql = (
        queue_counts.claim_counting_ddl(dialect) for dialect in ("sqlite", "postgresql", "mssql")
    )
    assert "CREATE TRIGGER queue_counts_update" in sqlite[1] and "'CLAIMED'" in sqlite[1]
    assert "FUNCTION openorch_queue_counts_update()" in postgresql[0]
    assert "'CLAIMED'" in postgresql[0]
    assert "CREATE TRIGGER queue_counts_change" in mssql[1] and "'CLAIMED'" in mssql[1]

"""Revision 0d14a1e5c001 (queue settings, bound elements) is additive: the original
OpenOrchestrator 3.0.0's statements keep working on an upgraded database, and its
claims (which ignore not-before and record no job) coexist with openorch's."""

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from openorch import migrate
from openorch.database import JobStatus, QueueStatus
from openorch.store import Store, build_engine

#: The original's INSERT of an element: only the columns its model has.
ORIGINAL_INSERT = sa.text(
    'INSERT INTO "Queues" (id, queue_name, status, data, reference, created_date, start_date, '
    "end_date, message, created_by) VALUES (:id, :queue, 'NEW', NULL, :ref, :created, NULL, "
    "NULL, NULL, 'original')"
)
#: The original's claim: the oldest NEW element by created_date, then set IN_PROGRESS.
ORIGINAL_PICK = sa.text(
    "SELECT id FROM \"Queues\" WHERE queue_name = :queue AND status = 'NEW' "
    "ORDER BY created_date LIMIT 1"
)
ORIGINAL_MARK = sa.text(
    "UPDATE \"Queues\" SET status = 'IN_PROGRESS', start_date = :now WHERE id = :id"
)


def _uuid_param(engine: sa.Engine, key: uuid.UUID) -> object:
    return key.hex if engine.dialect.name == "sqlite" else key


def test_original_statements_work_after_the_upgrade(empty_url: str) -> None:
    engine = build_engine(empty_url)
    migrate.upgrade(engine)
    store = Store(engine)
    store.set_queue_settings("q", max_attempts=2)
    deferred = store.create_queue_element(
        "q", "deferred", not_before=datetime.now() + timedelta(days=1)
    )
    theirs = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            ORIGINAL_INSERT,
            {
                "id": _uuid_param(engine, theirs),
                "queue": "q",
                "ref": "theirs",
                "created": datetime.now(),
            },
        )
        picked = connection.execute(ORIGINAL_PICK, {"queue": "q"}).scalar()
        connection.execute(ORIGINAL_MARK, {"id": picked, "now": datetime.now()})
    # The original ignores not-before: it claimed the deferred element (documented).
    claimed = store.get_queue_element(deferred.id)
    assert claimed.status is QueueStatus.IN_PROGRESS and claimed.job_id is None
    element = store.get_queue_element(theirs)
    assert element.status is QueueStatus.NEW and element.job_id is None
    assert element.attempts is None and element.deadline is None

    # openorch's claim binds; ending its job leaves the original's claim alone.
    job = store.start_job("robot", "machine")
    mine = store.get_next_queue_element("q", job_id=job.id)
    assert mine is not None and mine.id == theirs
    assert store.end_job(job.id, JobStatus.FAILED)
    assert store.get_queue_element(theirs).status is QueueStatus.NEW
    assert store.get_queue_element(deferred.id).status is QueueStatus.IN_PROGRESS
    # Only an admin releases the original's claim.
    assert store.release_queue_element(deferred.id) is QueueStatus.NEW
    engine.dispose()


def test_downgrade_removes_only_this_revision(sqlite_empty_url: str) -> None:
    from alembic import command

    engine = build_engine(sqlite_empty_url)
    migrate.upgrade(engine)
    Store(engine).create_queue_element("q", "kept")
    with engine.begin() as connection:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "a3f1c0de0001")
    inspector = sa.inspect(engine)
    assert "Queue_Settings" not in inspector.get_table_names()
    assert "job_id" not in {c["name"] for c in inspector.get_columns("Queues")}
    migrate.upgrade(engine)
    assert Store(engine).get_queue_elements("q")[0].reference == "kept"
    engine.dispose()

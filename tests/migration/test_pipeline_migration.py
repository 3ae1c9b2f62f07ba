"""Revision 0d17a1e5c001 (pipeline progress and history) is additive: the original
OpenOrchestrator 3.0.0 keeps reading, claiming and deleting pipeline elements as ordinary
queue elements (no new status, no foreign key in its way), and a downgrade removes only
the two new tables."""

from datetime import datetime, timedelta

import sqlalchemy as sa

from openorch import migrate
from openorch.database import QueueStatus
from openorch.store import Store, build_engine

#: The original's reads and writes of Queues (only the columns and statuses it knows).
ORIGINAL_READ = sa.text('SELECT id, status, message FROM "Queues" WHERE queue_name = :queue')
ORIGINAL_DELETE = sa.text('DELETE FROM "Queues" WHERE queue_name = :queue')


def test_original_reads_and_deletes_pipeline_elements(empty_url: str) -> None:
    engine = build_engine(empty_url)
    migrate.upgrade(engine)
    store = Store(engine)
    element = store.create_queue_element("q", "r1")
    job = store.start_job("robot", "machine").id
    assert store.get_next_queue_element("q", job_id=job) is not None
    progress = store.adopt_pipeline_element(element.id, job, "backup", "transfer")
    store.wait_pipeline_part(
        progress,
        store.begin_pipeline_part(progress, "transfer", "start"),
        "transfer",
        {"ticket": 1},
        datetime.now() + timedelta(hours=1),
        datetime.now(),
    )
    with engine.connect() as connection:
        rows = connection.execute(ORIGINAL_READ, {"queue": "q"}).all()
    # A waiting element is a NEW one to the original (it has no other status to read).
    assert [row.status for row in rows] == ["NEW"]
    assert QueueStatus[rows[0].status] is QueueStatus.NEW
    assert "waits in step 'transfer'" in rows[0].message
    with engine.begin() as connection:
        connection.execute(ORIGINAL_DELETE, {"queue": "q"})
    # The progress rows it left behind go with openorch's next bulk delete.
    assert store.get_pipeline_run(element.id) is not None
    store.create_queue_element("q", "r2")
    assert store.apply_queue_action("delete", "q") == 1
    assert store.get_pipeline_run(element.id) is None
    assert store.get_pipeline_history(element.id) == ()
    engine.dispose()


def test_downgrade_removes_only_this_revision(sqlite_empty_url: str) -> None:
    from alembic import command

    engine = build_engine(sqlite_empty_url)
    migrate.upgrade(engine)
    Store(engine).create_queue_element("q", "kept")
    with engine.begin() as connection:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0d14a1e5c001")
    tables = set(sa.inspect(engine).get_table_names())
    assert not {"Pipeline_Runs", "Pipeline_Step_History"} & tables
    assert "Queue_Settings" in tables
    migrate.upgrade(engine)
    assert Store(engine).get_queue_elements("q")[0].reference == "kept"
    assert {"Pipeline_Runs", "Pipeline_Step_History"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()

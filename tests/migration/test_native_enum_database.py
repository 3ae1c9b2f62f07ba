"""A PostgreSQL database made by the original OpenOrchestrator may hold its enums in
native ENUM types (SQLAlchemy's default there). openorch never creates them, but must
work on such a database: upgrade it, then read and write every enum column."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from openorch import migrate
from openorch.database import JobStatus, LogLevel, QueueStatus, TriggerStatus
from openorch.store import ORIGINAL_HEAD_REVISION, Store, build_engine

NATIVE_ENUMS = {
    ("Triggers", "process_status"): ("triggerstatus", list(TriggerStatus.__members__)),
    ("Triggers", "type"): ("triggertype", ["SINGLE", "SCHEDULED", "QUEUE"]),
    ("Queues", "status"): ("queuestatus", list(QueueStatus.__members__)),
    ("Logs", "log_level"): ("loglevel", list(LogLevel.__members__)),
    ("Jobs", "status"): ("jobstatus", list(JobStatus.__members__)),
}


@pytest.mark.postgres
def test_store_works_on_native_enum_columns(pg_empty_url: str, crypto_key: str) -> None:
    engine = build_engine(pg_empty_url)
    migrate.upgrade(engine, ORIGINAL_HEAD_REVISION)
    with engine.begin() as connection:
        for (table, column), (type_name, members) in NATIVE_ENUMS.items():
            labels = ", ".join(f"'{member}'" for member in members)
            connection.execute(text(f"CREATE TYPE {type_name} AS ENUM ({labels})"))
            connection.execute(
                text(
                    f'ALTER TABLE "{table}" ALTER COLUMN {column} TYPE {type_name} '
                    f"USING {column}::text::{type_name}"
                )
            )
    migrate.upgrade(engine)
    engine.dispose()

    store = Store(pg_empty_url, crypto_key=crypto_key)
    trigger_id = store.create_single_trigger(
        "t", "p", datetime.now() - timedelta(seconds=1), "p.py", "", False, True, 0
    )
    assert [t.id for t in store.get_pending_single_triggers()] == [trigger_id]
    assert store.begin_trigger(trigger_id)
    store.set_trigger_status(trigger_id, TriggerStatus.PAUSING)
    assert store.change_trigger_status(trigger_id, [TriggerStatus.PAUSING], "PAUSED")
    queue_trigger = store.create_queue_trigger("q", "p", "work", "p.py", "", False, True, 1, 0)
    store.bulk_create_queue_elements("work", ["a", "b"], ["1", "2"])
    store.create_queue_element("work", "c")
    assert [t.id for t in store.get_pending_queue_triggers()] == [queue_trigger]
    element = store.get_next_queue_element("work")
    assert element is not None and element.status == QueueStatus.IN_PROGRESS
    store.set_queue_element_status(element.id, QueueStatus.DONE, "ok")
    assert store.get_queue_count()["work"][QueueStatus.DONE] == 1
    assert len(store.get_queue_elements("work", status="NEW")) == 2
    store.create_log("p", LogLevel.ERROR, None, "boom")
    assert [log.log_message for log in store.get_logs(log_level="ERROR")] == ["boom"]
    job = store.start_job("p", "RPA01", trigger_id)
    store.set_job_status(job.id, JobStatus.FAILED)
    assert store.get_jobs(status="FAILED")[0].id == job.id
    store.close()

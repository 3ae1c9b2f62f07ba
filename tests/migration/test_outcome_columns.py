"""Revision 0d16a1e5c001 (run outcomes, API tables) on both backends: the original
OpenOrchestrator 3.0.0 still writes and reads jobs the way it always did, and openorch
reads its rows with no outcome."""

import uuid
from datetime import datetime

import sqlalchemy as sa

from openorch import migrate
from openorch.database import JobOutcome, JobStatus
from openorch.store import Store, build_engine

#: Jobs as the original 3.0.0 knows the table (no openorch columns).
ORIGINAL_JOBS = sa.table(
    "Jobs",
    sa.column("id", sa.Uuid()),
    sa.column("process_name"),
    sa.column("scheduler_name"),
    sa.column("start_time"),
    sa.column("end_time"),
    sa.column("status"),
)


def test_original_jobs_live_beside_outcomes(empty_url: str) -> None:
    engine = build_engine(empty_url)
    migrate.upgrade(engine)
    theirs = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            ORIGINAL_JOBS.insert().values(
                id=theirs,
                process_name="invoice",
                scheduler_name="RPA01",
                start_time=datetime(2024, 5, 1),
                status="RUNNING",
            )
        )
    store = Store(engine)
    job = store.get_job(theirs)
    assert job.outcome is None and job.correlation_id is None and job.outcome_data is None
    ours = store.start_job("reports", "RPA02")
    store.report_job_outcome(ours.id, JobOutcome.FAILED, "no customer", {"id": 1})
    assert store.end_job_after_exit(ours.id, 0) is JobStatus.FAILED
    with engine.begin() as connection:  # the original's own statements still work
        connection.execute(
            ORIGINAL_JOBS.update().where(ORIGINAL_JOBS.c.id == theirs).values(status="DONE")
        )
        rows = connection.execute(
            sa.select(ORIGINAL_JOBS.c.id, ORIGINAL_JOBS.c.status).order_by(ORIGINAL_JOBS.c.status)
        ).all()
    assert {(row[0], row[1]) for row in rows} == {(theirs, "DONE"), (ours.id, "FAILED")}
    assert {"ApiTokens", "ApiAudit", "RunRequests"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()

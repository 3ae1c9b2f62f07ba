"""All-time job counters for /metrics (issue 29), on SQLite and PostgreSQL: the watchdog's
fold adds each ended job once, leaves the newest FOLD_MARGIN for a later fold, and the
counters start at zero at the first fold."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from openorch.database import Job, JobStatus, OpsState
from openorch.store import Store
from openorch.store.runs.counters import DURATION_BUCKETS, WATERMARK


def _job(
    session: Session, process: str, status: JobStatus, ended: datetime, seconds: float
) -> None:
    session.add(
        Job(
            process_name=process,
            scheduler_name="vm1",
            start_time=ended - timedelta(seconds=seconds),
            end_time=ended,
            status=status,
        )
    )


def test_jobs_are_counted_once(store: Store) -> None:
    now = store.database_now()
    with Session(store.engine) as session, session.begin():
        _job(session, "p", JobStatus.DONE, now - timedelta(hours=2), 3)  # before the start
    assert store.fold_job_counters() == 0  # the first fold starts the counters
    assert store.get_job_counters() == {}
    # Move the start back an hour, as if the counters had run since then.
    with Session(store.engine) as session, session.begin():
        mark = session.get(OpsState, WATERMARK)
        assert mark is not None
        mark.value = (now - timedelta(hours=1)).isoformat()
    with Session(store.engine) as session, session.begin():
        _job(session, "p", JobStatus.DONE, now - timedelta(minutes=30), 3)
        _job(session, "p", JobStatus.DONE, now - timedelta(minutes=20), 100)
        _job(session, "p", JobStatus.FAILED, now - timedelta(minutes=10), 0.5)
        _job(session, "q", JobStatus.KILLED, now - timedelta(minutes=10), 7200)
        _job(session, "p", JobStatus.DONE, now - timedelta(seconds=20), 1)  # too recent yet
        session.add(
            Job(process_name="p", scheduler_name="vm1", start_time=now, status=JobStatus.RUNNING)
        )
    assert store.fold_job_counters() == 4
    assert store.fold_job_counters() == 0  # nothing twice
    counters = store.get_job_counters()
    assert {key: value.jobs for key, value in counters.items()} == {
        ("p", "DONE"): 2,
        ("p", "FAILED"): 1,
        ("q", "KILLED"): 1,
    }
    done = counters[("p", "DONE")]
    assert abs(done.seconds_total - 103) < 0.01
    assert done.at_most == [sum(1 for s in (3, 100) if s <= b) for b in DURATION_BUCKETS]
    assert counters[("q", "KILLED")].at_most == [0] * (len(DURATION_BUCKETS) - 1) + [1]

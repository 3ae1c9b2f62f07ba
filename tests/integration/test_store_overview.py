"""The Overview's aggregate reads on SQLite and PostgreSQL: jobs per window, day and
status, failures by process, errors logged, queue backlog and throughput, running jobs."""

from datetime import datetime, timedelta

from sqlalchemy import update

from openorch.database import Job, JobStatus, LogLevel, QueueElement, QueueStatus, TriggerStatus
from openorch.store import Store


def backdate_job(store: Store, job_id: object, start: datetime) -> None:
    with store.engine.begin() as connection:
        connection.execute(update(Job).where(Job.id == job_id).values(start_time=start))


def test_overview_figures(store: Store) -> None:
    now = datetime.now()
    for process, status, hours_ago in (
        ("invoices", JobStatus.DONE, 1),
        ("invoices", JobStatus.FAILED, 2),
        ("invoices", JobStatus.FAILED, 30),
        ("reports", JobStatus.FAILED, 3),
        ("reports", JobStatus.KILLED, 50),
        ("old", JobStatus.FAILED, 24 * 9),
    ):
        job = store.start_job(process, "robot-1")
        store.end_job(job.id, status)
        backdate_job(store, job.id, now - timedelta(hours=hours_ago))
    running = store.start_job("invoices", "robot-2")
    store.create_log("invoices", LogLevel.ERROR, None, "boom")
    store.create_log("invoices", LogLevel.INFO, None, "fine")
    store.bulk_create_queue_elements("q1", ["a", "b", "c"], [None, None, None])
    done = store.get_queue_elements("q1", reference="a")[0]
    store.set_queue_element_status(done.id, QueueStatus.DONE)
    failed = store.get_queue_elements("q1", reference="b")[0]
    store.set_queue_element_status(failed.id, QueueStatus.FAILED)
    store.create_queue_element("quiet", "old")
    quiet = store.get_queue_elements("quiet")[0]
    store.set_queue_element_status(quiet.id, QueueStatus.DONE)
    with store.engine.begin() as connection:  # finished long ago: no recent activity
        connection.execute(
            update(QueueElement)
            .where(QueueElement.id == quiet.id)
            .values(end_date=now - timedelta(days=3))
        )
    store.send_ping_from_scheduler("robot-2")
    failing = store.create_single_trigger("failing", "p", now, "C:/p.py", None, False, True)
    store.set_trigger_status(failing, TriggerStatus.FAILED)

    figures = store.get_overview(now + timedelta(seconds=1))

    assert figures.jobs_24h == {JobStatus.DONE: 1, JobStatus.FAILED: 2, JobStatus.RUNNING: 1}
    assert figures.jobs_7d == {
        JobStatus.DONE: 1,
        JobStatus.FAILED: 3,
        JobStatus.KILLED: 1,
        JobStatus.RUNNING: 1,
    }
    assert len(figures.jobs_per_day) == 7
    assert figures.jobs_per_day[-1][0] == now.date()
    assert sum(sum(counts.values()) for _, counts in figures.jobs_per_day) <= 6
    assert figures.failures_by_process == [("invoices", 2), ("reports", 1)]
    assert figures.errors_24h == 1
    assert [queue.queue_name for queue in figures.queues] == ["q1"]
    q1 = figures.queues[0]
    assert (q1.new, q1.in_progress, q1.done_24h, q1.failed_24h) == (1, 0, 1, 1)
    # The NEW element's own creation time (not a bound on the clock: a loaded machine
    # took more than a second over the set-up once).
    assert q1.oldest_new == store.get_queue_elements("q1", reference="c")[0].created_date
    assert [job.job_id for job in figures.running] == [str(running.id)]
    assert [(health.scheduler.machine_name, health.alive) for health in figures.schedulers] == [
        ("robot-2", True)
    ]
    assert [trigger.trigger_name for trigger in figures.triggers] == ["failing"]


def test_open_alerts(store: Store) -> None:
    """Only alerts not closed count; the newest open ones come first; the Alerts history
    filtered to open alerts (where the figure leads) lists the same ones."""
    closed = store.open_alert("job_failed", "job:1", "closed one", "body")
    assert closed is not None
    store.close_alert(closed.id, notify=False)
    store.open_alert("job_failed", "job:2", "first", "body")
    store.open_alert("job_killed", "job:3", "second", "body")
    store.open_alert("job_failed", "job:4", "event", "body", event=True)  # closed at once

    figures = store.get_overview(alerts_limit=1)

    assert figures.open_alerts == 2
    assert len(figures.newest_open_alerts) == 1
    newest = figures.newest_open_alerts[0]
    assert newest.subject in ("job:2", "job:3") and newest.opened_at is not None
    everything = store.get_overview()
    assert sorted((a.rule, a.subject) for a in everything.newest_open_alerts) == [
        ("job_failed", "job:2"),
        ("job_killed", "job:3"),
    ]
    opened = [a.opened_at for a in everything.newest_open_alerts]
    assert opened == sorted(opened, reverse=True)
    alerts, total = store.get_alerts(include_count=True, open_only=True)
    assert total == 2 and {a.subject for a in alerts} == {"job:2", "job:3"}
    assert store.get_alerts(include_count=True)[1] == 4


def test_jobs_started_from(store: Store) -> None:
    """The Jobs tab's "Started from" filter (where the Overview's 24 h figures lead)."""
    now = datetime.now()
    old = store.start_job("p", "robot-1")
    backdate_job(store, old.id, now - timedelta(days=2))
    new = store.start_job("p", "robot-1")
    jobs, total = store.get_jobs(started_from=now - timedelta(hours=24), include_count=True)
    assert total == 1 and [job.id for job in jobs] == [new.id]

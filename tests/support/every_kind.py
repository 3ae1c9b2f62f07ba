"""A database holding data of every kind, written through the data layer as the programs
write it: for tests that move or read back a whole database (`openorch copy`).

`fill_every_table` leaves at least one row in every table of the models; the copy tests
assert that, so a new table makes them fail until it is filled here too.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from openorch.database import JobCounter, JobOutcome, JobStatus, LogLevel
from openorch.store import Store
from support.processes.harness import script, single_due


@dataclass(frozen=True)
class Filled:
    """What the tests look for after a copy."""

    password: str
    token_secret: str
    job_id: uuid.UUID
    element_id: uuid.UUID
    due_trigger_id: uuid.UUID
    run_id: uuid.UUID


def fill_every_table(store: Store) -> Filled:
    """One of everything: values, triggers of every kind, a finished job with logs and an
    outcome, queue elements (claimed, bulk, settings), a pipeline's progress and history,
    an element in review, a Scheduler's run, alert channels, rules, recipients, an alert
    with deliveries and an attachment, the watchdog lease, an API token, its audit record
    and a run request.
    A due single trigger runs `secretive.py` (constant `greeting`, credential `mail`)."""
    password = "pässwörd-ÿ-123"
    store.create_constant("greeting", "hello from local mode")
    store.create_constant("empty", "")
    store.create_credential("mail", "robot@example.com", password)
    store.create_credential("erp", "erp-user", "second secret")

    single = store.create_single_trigger(
        "single later",
        "invoices",
        datetime(2099, 1, 2, 3, 4, 5, 678000),
        "/robots/invoices.py",
        "--fast",
        False,
        True,
        3,
        ["vm1", "vm2"],
        None,
        True,
    )
    store.create_scheduled_trigger(
        "nightly",
        "reports",
        "0 2 * * *",
        datetime(2099, 5, 6),
        "https://git/r.git",
        "",
        True,
        False,
        1,
        [],
        "main",
    )
    store.create_queue_trigger(
        "on mail", "mailer", "outbox", "/robots/mail.py", None, False, False, 5, 2, None
    )
    # A business calendar (typed days) and triggers that follow it (issue 28). No zone on
    # the scheduled one: its stored time is then a run time on any machine, so no
    # Scheduler corrects it while a test compares rows.
    calendar = store.create_calendar("Denmark")
    store.add_calendar_days(calendar, ["2099-01-01", "2099-12-24"], "Closed")
    store.create_scheduled_trigger(
        "working days",
        "reports",
        "0 7 * * *",
        datetime(2099, 1, 5, 7, 0),
        "/robots/reports.py",
        None,
        False,
        False,
        calendar_id=calendar,
        calendar_rule="WORKING_DAYS",
    )
    store.create_queue_trigger(
        "daytime",
        "mailer",
        "outbox",
        "/robots/mail.py",
        None,
        False,
        False,
        1,
        window_start="06:00",
        window_end="18:00",
        time_zone="Europe/Copenhagen",
        calendar_id=calendar,
    )
    due = single_due(store, script("secretive.py"), "copied args", name="due after copy")

    job = store.start_job("invoices", "vm1", single)
    store.create_log("invoices", LogLevel.INFO, job.id, "started ✓")
    store.create_log("invoices", LogLevel.ERROR, job.id, "a line\nwith two")
    store.create_log("loose", LogLevel.TRACE, None, "no job")
    store.report_job_outcome(job.id, JobOutcome.COMPLETED, "all good", {"n": 3})
    store.end_job_after_exit(job.id, 0)
    failed = store.start_job("mailer", "vm2")
    store.end_job(failed.id, JobStatus.FAILED, "it broke")

    store.set_queue_settings(
        "outbox",
        max_attempts=3,
        retry_delay_seconds=60,
        unique_references=True,
        default_deadline_seconds=3600,
        description="mails to send",
    )
    store.create_queue_element("outbox", "first", '{"to": "a@example.com"}', "tester")
    store.bulk_create_queue_elements("bulk", ["b1", "b2", "b3"], ["1", None, "3"], "bulk")
    worker = store.start_job("pipeline", "vm1")
    element = store.create_queue_element("steps", "p1", '{"n": 2}')
    claimed = store.get_next_queue_element("steps", job_id=worker.id)
    assert claimed is not None and claimed.id == element.id
    progress = store.adopt_pipeline_element(element.id, worker.id, "demo", "first")
    history = store.begin_pipeline_part(progress, "first", "start")
    store.finish_pipeline_part(progress, history, {"doubled": 4}, "second")
    # A business failure in review (Queue_Reviews) with its history (Queue_Element_History).
    review = store.get_next_queue_element("bulk", job_id=worker.id)
    assert review is not None
    store.set_queue_element_status(review.id, "FAILED", "Unknown customer", kind="business")

    run_id = uuid.uuid4()
    store.register_run("vm1", run_id, 120.0, "running")
    store.heartbeat("vm1", run_id, "running")
    store.send_ping_from_scheduler("old-machine")

    store.save_alert_channel(
        "hook", "webhook", webhook_url="http://127.0.0.1:9/h/TOKEN", webhook_format="slack"
    )
    store.save_alert_rule(
        "job_failed", enabled=True, recipients="ops@example.com", channels=["hook"]
    )
    store.set_alert_recipients("trigger", "single later", "owner@example.com")
    store.open_alert(
        "job_failed",
        "job:1",
        "A job failed",
        "body text",
        attachment=b"\x00\x01log",
        attachment_name="output.txt",
    )
    store.acquire_watchdog_lease("vm1", 60)

    _token, secret = store.create_api_token(
        "ci", ["read", "run"], datetime.now() + timedelta(days=30)
    )
    store.request_run(single, "ci", "--from-api", "corr-1")
    store.record_api_write("ci", "constant.update", "greeting")
    # Retention and the job counters (issue 29): a policy, a recorded (dry) run, a counter.
    store.set_retention_policy({"logs": 3650}, "admin (token)")
    store.prune_by_policy({"logs": 3650}, "vm1 (pid 1, test)", dry_run=True)
    store.fold_job_counters()  # starts the counters (the Ops_State watermark)
    with Session(store.engine) as session, session.begin():
        session.add(
            JobCounter(
                process_name="counted",
                status="DONE",
                jobs=2,
                seconds_total=3.5,
                buckets="[0, 2, 2, 2, 2, 2, 2, 2]",
            )
        )
    return Filled(password, secret, job.id, element.id, due, run_id)

"""The pure parts of alerts: which job rule an ended job belongs to, the backoff, and
the bodies each channel gets."""

import json
import uuid
from datetime import datetime

from openorch.alerts.messages import Message, email_message, summary_message, webhook_body
from openorch.alerts.rules import classify_job, job_finding
from openorch.alerts.watchdog import backoff
from openorch.database import JobStatus, TriggerStatus
from openorch.masking import mask_url
from openorch.store.alerts.config import check_addresses, merge_addresses
from openorch.store.alerts.findings import EndedJob


def ended(status: JobStatus, *errors: str) -> EndedJob:
    return EndedJob(
        uuid.uuid4(),
        "invoices",
        "RPA01",
        status,
        datetime(2026, 1, 1, 7),
        datetime(2026, 1, 1, 7, 5),
        None,
        "nightly",
        trigger_status=TriggerStatus.FAILED,
        errors=list(errors),
    )


def test_classify_failed_killed_and_orphaned_jobs() -> None:
    tail = "\n".join(f"line {n}" for n in range(30))
    kind, code, text = classify_job(
        ended(
            JobStatus.FAILED,
            f"The process exited with code -9. The end of its error output:\n{tail}",
        )
    )
    assert (kind, code) == ("job_failed", -9)
    assert text.splitlines() == [f"line {n}" for n in range(10, 30)]  # the last 20 lines
    assert classify_job(ended(JobStatus.KILLED))[0] == "job_killed"
    orphan = ended(JobStatus.FAILED, "Scheduler 'RPA02' stopped sending heartbeats (none ...")
    assert classify_job(orphan)[0] == "job_orphaned"
    launch = ended(JobStatus.FAILED, "The Scheduler couldn't launch the process: no file.")
    assert classify_job(launch) == (
        "job_failed",
        None,
        "The Scheduler couldn't launch the process: no file.",
    )


def test_job_finding_names_trigger_machine_code_and_tail() -> None:
    job = ended(JobStatus.FAILED)
    finding = job_finding(job, "job_failed", 2, "KeyError: 'x'")
    assert finding.title == "Job of trigger 'nightly' failed (exit code 2)"
    for fact in (
        "Machine (Scheduler): RPA01",
        "Exit code: 2",
        "KeyError: 'x'",
        "will not run again until it is reset",
    ):
        assert fact in finding.text
    assert finding.scope == ("trigger", "nightly") and finding.subject == str(job.id)


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n, 10, 600) for n in range(1, 9)] == [10, 20, 40, 80, 160, 320, 600, 600]


def test_webhook_bodies() -> None:
    message = Message(
        "opened",
        "job_failed",
        "Job failed",
        "text",
        datetime(2026, 1, 2, 3, 4, 5),
        "id-1",
        b"png",
        "shot.png",
    )
    teams = json.loads(webhook_body(message, "teams"))
    card = teams["attachments"][0]
    assert teams["type"] == "message"
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["body"][0]["text"] == "[openorch] Job failed"
    slack = json.loads(webhook_body(message, "slack"))
    assert slack["text"].startswith("*[openorch] Job failed*\ntext")
    assert "Opened: 02-01-2026 03:04:05" in slack["text"]
    plain = json.loads(webhook_body(message, "plain"))
    assert plain == {
        "event": "opened",
        "rule": "job_failed",
        "title": "Job failed",
        "subject": "[openorch] Job failed",
        "text": "text",
        "opened_at": "2026-01-02T03:04:05",
        "alert_id": "id-1",
        "attachment_name": "shot.png",
    }


def test_email_with_attachment_and_summary() -> None:
    message = Message(
        "reminder", "r", "Disk full", "text", attachment=b"\x89PNG", attachment_name="s.png"
    )
    email = email_message(message, "from@x.org", ["a@x.org", "b@x.org"])
    assert email["Subject"] == "[openorch] Still: Disk full"
    assert email["To"] == "a@x.org, b@x.org"
    (part,) = list(email.iter_attachments())
    assert part.get_content_type() == "image/png" and part.get_content() == b"\x89PNG"
    summary = summary_message([Message("opened", "job_failed", f"Job {n}", "") for n in range(120)])
    assert summary.title == "120 alerts at once"
    assert "- Job 99" in summary.text and "… and 20 more" in summary.text


def test_addresses() -> None:
    assert check_addresses("to", " a@x.org;b@y.org ,c@z.org ") == "a@x.org, b@y.org, c@z.org"
    assert check_addresses("to", "  ") is None
    assert merge_addresses("a@x.org, b@x.org", None, "b@x.org; c@x.org") == (
        "a@x.org, b@x.org, c@x.org"
    )
    assert mask_url("https://hooks.slack.com/services/T0/B0/SECRET") == "https://hooks.slack.com/…"

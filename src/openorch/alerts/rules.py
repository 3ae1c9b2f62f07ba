"""The rules: from what the data layer reads to `Finding`s (what is wrong, about whom).

Each condition rule returns every finding that holds *now*; the watchdog opens the new
ones and closes (with a "recovered" notice) the open alerts missing from the list. The
job rules return events: each ended job is reported once.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from openorch.alerts.messages import format_datetime
from openorch.database import AlertRule, JobStatus, TriggerStatus
from openorch.store import Store
from openorch.store.alerts.findings import EndedJob

#: The job rules, each reported once per job.
JOB_RULES = ("job_failed", "job_killed", "job_orphaned")

#: Lines of a failed process's error output an alert quotes.
TAIL_LINES = 20

#: What the Scheduler's reaper writes about a job whose Scheduler stopped
#: (store/runs/schedulers.py).
_ORPHANED = "stopped sending heartbeats"
_EXIT_CODE = re.compile(r"exited with code (-?\d+)")
_TAIL_MARK = "The end of its error output:\n"


@dataclass
class Finding:
    """One thing a rule found: `subject` identifies it across evaluations; `scope` names
    the trigger or queue whose extra recipients also get it."""

    subject: str
    title: str
    text: str
    scope: tuple[str, str] | None = None


def classify_job(job: EndedJob) -> tuple[str, int | None, str]:
    """Which job rule an ended job belongs to, its exit code and its error tail."""
    if job.status is JobStatus.KILLED:
        return "job_killed", None, ""
    for message in job.errors:
        if _ORPHANED in message:
            return "job_orphaned", None, ""
    for message in job.errors:
        found = _EXIT_CODE.search(message)
        if found:
            tail = message.split(_TAIL_MARK, 1)[1] if _TAIL_MARK in message else ""
            return "job_failed", int(found.group(1)), "\n".join(tail.splitlines()[-TAIL_LINES:])
    return (
        "job_failed",
        None,
        "\n".join(job.errors[-1].splitlines()[-TAIL_LINES:]) if (job.errors) else "",
    )


def job_finding(job: EndedJob, kind: str, code: int | None, tail: str) -> Finding:
    """The alert text for an ended job: trigger, machine, exit code, error tail."""
    who = f"trigger '{job.trigger_name}'" if job.trigger_name else f"process '{job.process_name}'"
    facts = [
        f"Trigger: {job.trigger_name or '(unknown)'}",
        f"Process: {job.process_name}",
        f"Machine (Scheduler): {job.scheduler_name}",
        f"Job: {job.id}",
        f"Started: {format_datetime(job.start_time)}",
        f"Ended: {format_datetime(job.end_time)}",
    ]
    if kind == "job_failed":
        title = f"Job of {who} failed" + (f" (exit code {code})" if code is not None else "")
        facts.append(f"Exit code: {code if code is not None else 'unknown'}")
        if job.outcome_message:
            facts.append(f"The process reported: {job.outcome_message}")
        facts.append("")
        facts.append(
            f"Last lines of its error output:\n{tail}"
            if tail.strip()
            else "It wrote no error output."
        )
    elif kind == "job_killed":
        title = f"Job of {who} was killed"
    else:
        title = f"Scheduler '{job.scheduler_name}' died while running {who}"
        facts.append("")
        facts.append(
            "The Scheduler stopped sending heartbeats while the job ran; the job and its "
            "trigger were marked FAILED. Check that machine, then re-enable the trigger."
        )
    if job.trigger_status is TriggerStatus.FAILED:
        facts.append("")
        facts.append("The trigger is now FAILED and will not run again until it is reset.")
    scope = ("trigger", job.trigger_name) if job.trigger_name else None
    return Finding(str(job.id), title, "\n".join(facts), scope)


def trigger_stopped(store: Store, rule: AlertRule, now: datetime) -> list[Finding]:
    """Triggers in FAILED status (they will not run again until reset)."""
    return [
        Finding(
            f"trigger:{trigger.id}",
            f"Trigger '{trigger.trigger_name}' stopped after a failure",
            f"Trigger '{trigger.trigger_name}' (process '{trigger.process_name}') is FAILED: "
            "it will not run again until someone resets it (Enable in the Orchestrator's "
            f"Triggers tab). Last run: {format_datetime(trigger.last_run, 'never')}.",
            ("trigger", trigger.trigger_name),
        )
        for trigger in store.get_stopped_triggers()
    ]


def trigger_overdue(store: Store, rule: AlertRule, now: datetime) -> list[Finding]:
    """Single and scheduled triggers due more than `threshold` minutes ago, not started,
    whatever their status."""
    minutes = rule.threshold or 15
    findings = []
    for trigger in store.get_overdue_triggers(now - timedelta(minutes=minutes)):
        late = int((now - trigger.next_run).total_seconds() // 60)
        findings.append(
            Finding(
                f"trigger:{trigger.id}:{trigger.next_run.isoformat()}",
                f"Trigger '{trigger.trigger_name}' is overdue",
                f"Trigger '{trigger.trigger_name}' (process '{trigger.process_name}') was due "
                f"at {format_datetime(trigger.next_run)} and has not started ({late} minutes "
                f"late; the limit is {minutes}). Its status is {trigger.status.name}. Last "
                f"run: {format_datetime(trigger.last_run, 'never')}.",
                ("trigger", trigger.trigger_name),
            )
        )
    return findings


def scheduler_silent(store: Store, rule: AlertRule, now: datetime) -> list[Finding]:
    """Schedulers without a heartbeat (database clock) for more than `threshold` minutes."""
    minutes = rule.threshold or 5
    findings = []
    for health in store.get_scheduler_health():
        if health.silent_for is None or health.silent_for <= minutes * 60:
            continue
        scheduler = health.scheduler
        state = scheduler.engine_state
        why = (
            "it was stopped"
            if state == "stopped"
            else "it stopped, its machine is down or it cannot reach the database"
        )
        findings.append(
            Finding(
                f"scheduler:{scheduler.machine_name}",
                f"Scheduler '{scheduler.machine_name}' is silent",
                f"Scheduler '{scheduler.machine_name}' sent no heartbeat since "
                f"{format_datetime(scheduler.last_update)} (the limit is {minutes} minutes): "
                f"{why}. Triggers whitelisted to it only will not run.",
            )
        )
    return findings


def scheduler_clock(store: Store, rule: AlertRule, now: datetime) -> list[Finding]:
    """Live Schedulers whose clock is more than `threshold` seconds from the database
    server's, as their heartbeats measure it."""
    seconds = rule.threshold or 120
    findings = []
    for health in store.get_scheduler_health():
        offset = health.scheduler.clock_offset
        if not health.alive or offset is None or abs(offset) <= seconds:
            continue
        name = health.scheduler.machine_name
        way = "ahead of" if offset > 0 else "behind"
        findings.append(
            Finding(
                f"scheduler:{name}",
                f"Scheduler '{name}': clock is off",
                f"The clock of Scheduler '{name}' is {abs(offset):.0f} s {way} the database "
                f"server's (the limit is {seconds} s). Processes it starts see the wrong "
                "time; fix the machine's time synchronisation.",
            )
        )
    return findings


def queue_backlog(store: Store, rule: AlertRule, now: datetime) -> list[Finding]:
    """Queues whose oldest NEW element is older than `threshold` minutes."""
    minutes = rule.threshold or 60
    cutoff = now - timedelta(minutes=minutes)
    oldest = store.get_oldest_new_elements(store.get_queue_names())
    return [
        Finding(
            f"queue:{name}",
            f"Queue '{name}' has a backlog",
            f"The oldest NEW element of queue '{name}' was created at "
            f"{format_datetime(created)}, {int((now - created).total_seconds() // 60)} minutes "
            f"ago (the limit is {minutes}). Is its queue trigger running?",
            ("queue", name),
        )
        for name, created in sorted(oldest.items())
        if created < cutoff
    ]


def queue_deadline(store: Store, rule: AlertRule, now: datetime) -> list[Finding]:
    """Queues with at least `threshold` NEW or IN_PROGRESS elements past their deadline."""
    limit = rule.threshold or 1
    return [
        Finding(
            f"queue:{name}",
            f"Queue '{name}': {count} elements passed their deadline",
            f"{count} elements of queue '{name}' are not done and passed their deadline "
            f"(the earliest was due at {format_datetime(earliest)}). Is its queue trigger "
            "running, and fast enough?",
            ("queue", name),
        )
        for name, (count, earliest) in sorted(store.get_queues_past_deadline(now).items())
        if count >= limit
    ]


def queue_failures(store: Store, rule: AlertRule, now: datetime) -> list[Finding]:
    """Queues where more than `threshold` elements failed or were abandoned in the last
    hour."""
    limit = rule.threshold or 10
    counts = store.get_recent_queue_failures(now - timedelta(hours=1))
    return [
        Finding(
            f"queue:{name}",
            f"Queue '{name}': {count} elements failed in the last hour",
            f"{count} elements of queue '{name}' became FAILED or ABANDONED in the last hour "
            f"(the limit is {limit}). Look at their messages in the Queues tab.",
            ("queue", name),
        )
        for name, count in sorted(counts.items())
        if count > limit
    ]


def review_waiting(store: Store, rule: AlertRule, now: datetime) -> list[Finding]:
    """Queues with review items open for longer than `threshold` hours."""
    hours = rule.threshold or 24
    waiting = store.review_waiting_by_queue(now - timedelta(hours=hours))
    return [
        Finding(
            f"review:{name}",
            f"Queue '{name}': {count} items wait for review",
            f"{count} elements of queue '{name}' have waited for a person's decision for "
            f"more than {hours} hours (the oldest since {format_datetime(oldest)}). Decide "
            "them in the Orchestrator's Review tab.",
            ("queue", name),
        )
        for name, (count, oldest) in sorted(waiting.items())
    ]


#: The condition rules and the function that finds what holds now.
CONDITION_RULES: dict[str, Callable[[Store, AlertRule, datetime], list[Finding]]] = {
    "trigger_stopped": trigger_stopped,
    "trigger_overdue": trigger_overdue,
    "scheduler_silent": scheduler_silent,
    "scheduler_clock": scheduler_clock,
    "queue_backlog": queue_backlog,
    "queue_deadline": queue_deadline,
    "queue_failures": queue_failures,
    "review_waiting": review_waiting,
}

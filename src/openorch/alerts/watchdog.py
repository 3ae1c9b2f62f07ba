"""The fleet's one watchdog, run by every Scheduler in a thread of its own.

Every few seconds each Scheduler's watchdog tries to take or renew the lease row (in
the database's clock). Only the holder evaluates the rules (every `interval` seconds)
and sends the queued messages; when it dies its lease runs out and another Scheduler's
watchdog takes over at its next tick. Sending happens in this thread, so a slow SMTP
server never delays the Scheduler's polls.
"""

import contextlib
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import exc

from openorch.alerts.channels import SendError, send
from openorch.alerts.messages import Message, summary_message
from openorch.alerts.rules import CONDITION_RULES, JOB_RULES, Finding, classify_job, job_finding
from openorch.database import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertRule,
    JobStatus,
    TriggerStatus,
)
from openorch.store import Store, describe_connection_error
from openorch.store.alerts.config import merge_addresses
from openorch.store.alerts.findings import JOB_BATCH

#: Seconds between evaluations of the rules.
DEFAULT_INTERVAL = 30.0

#: More new alerts than this for one channel in one pass are sent as one summary.
FLOOD_LIMIT = 10

#: A message not sent after this long is given up (its row says so).
GIVE_UP_AFTER = timedelta(hours=24)

#: How far back the job rules look when a watchdog starts (or takes over).
JOB_LOOKBACK = timedelta(hours=24)

#: How far back each evaluation reads ended jobs again (robots' clocks differ a little).
JOB_MARGIN = timedelta(minutes=10)

#: Seconds a claimed message stays reserved for the sender that claimed it.
CLAIM_SECONDS = 120.0

#: After this many "alert opened" lines in one evaluation, the rest is one count line.
QUIET_AFTER = 10

#: Seconds between two retention passes of the lease holder.
PRUNE_EVERY = 3600.0

#: Seconds of pruning per tick at most (the rest waits for the next tick).
PRUNE_SLICE = 2.0

#: Seconds between two compactions of the queue counts by the lease holder.
COMPACT_EVERY = 10.0

#: Seconds of search indexing per tick at most (store/queues/search.py; PostgreSQL).
INDEX_SLICE = 2.0
#: Seconds between two reads of the stored retention policy while it is empty.
POLICY_RECHECK = 60.0

#: While the database is unreachable, repeat the watchdog's complaint this often (s).
OUTAGE_REPEAT = 60.0


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next try after `attempts` failed ones: base, 2·base, 4·base, …
    up to `cap`."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


class Watchdog:
    """Lease, evaluate, send. `tick()` does one round; `start()` runs it in a thread.

    `interval` is the time between evaluations; the lease lasts 1.5 intervals and is
    renewed every tick, so a dead holder is replaced within about 1.5 intervals plus
    a tick (under a minute with the 30 s default).
    """

    def __init__(
        self,
        store: Store,
        name: str,
        output: Callable[[str], None],
        *,
        interval: float = DEFAULT_INTERVAL,
        retry_base: float = 10.0,
        retry_cap: float = 600.0,
        lease_seconds: float | None = None,
        prune: dict[str, int] | None = None,
        prune_every: float = PRUNE_EVERY,
    ) -> None:
        self.store = store
        #: Days to keep per kind given on the command line (`--prune`): when set, they
        #: replace the stored policy for this Scheduler; when empty, the stored policy
        #: (Settings tab) is read at the start of each pass.
        self.flag_policy = dict(prune or {})
        #: The policy of the pass under way (or the last one).
        self.prune_policy = dict(self.flag_policy)
        self.prune_every = prune_every
        self._last_prune = float("-inf")
        self._last_compaction = float("-inf")
        self._last_policy_read = float("-inf")
        self._prune_pending: list[str] = []
        self._pruned: dict[str, int] = {}
        self._prune_run: uuid.UUID | None = None
        self._policy_problem_said = False
        self._counters_problem_said = False
        self.holder = f"{name} (pid {os.getpid()}, {uuid.uuid4().hex[:8]})"[:200]
        self.name = name
        self._output = output
        self.interval = interval
        self.lease_seconds = lease_seconds or interval * 1.5
        self.tick_seconds = max(0.5, min(5.0, interval / 4))
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.is_holder = False
        self._last_evaluation = float("-inf")
        self._job_watermark: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._outage_said = float("-inf")
        self._opened = 0

    # --- the thread ---------------------------------------------------------------------

    def start(self) -> None:
        """Run `tick()` in a daemon thread until `stop()`."""
        self._thread = threading.Thread(target=self._run, name="openorch-watchdog", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread and hand the lease back, so another Scheduler takes over now."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._end_prune_run("the Scheduler stopped; the next pass goes on")
        if self.is_holder:
            # On a database error the lease simply runs out by itself.
            with contextlib.suppress(exc.SQLAlchemyError, OSError):
                self.store.release_watchdog_lease(self.holder)
            self.is_holder = False

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except (exc.SQLAlchemyError, OSError) as error:
                now = time.monotonic()
                if now - self._outage_said >= OUTAGE_REPEAT:
                    self._outage_said = now
                    self._say(_database_problem(error))
            except Exception:
                self._say("unexpected error (it goes on):\n" + traceback.format_exc().rstrip())
            self._stop.wait(self.tick_seconds)

    def _say(self, line: str) -> None:
        self._output(f"Watchdog: {line}")

    # --- one round --------------------------------------------------------------------

    def tick(self) -> None:
        """Take or renew the lease; when held, evaluate (if due) and send what is due."""
        held = self.store.acquire_watchdog_lease(self.holder, self.lease_seconds)
        if held and not self.is_holder:
            self._say("this Scheduler now evaluates the alert rules for the fleet.")
            self._last_evaluation = float("-inf")
            self._job_watermark = None
        elif not held and self.is_holder:
            self._say("another Scheduler took over the alert rules.")
            self._end_prune_run("this Scheduler lost the watchdog lease; the next pass goes on")
        self.is_holder = held
        if not held:
            return
        if time.monotonic() - self._last_evaluation >= self.interval:
            self._last_evaluation = time.monotonic()
            self.evaluate()
        self.deliver()
        self.fold_counters()
        self.prune_some()
        self.compact_counts()
        self.index_search()

    def compact_counts(self) -> None:
        """Sum the queue counts' delta rows (store/queues/counts.py) while this Scheduler
        holds the lease, at most every COMPACT_EVERY seconds: claims append rows, and
        reads stay quick while there are few."""
        if not self.is_holder or time.monotonic() - self._last_compaction < COMPACT_EVERY:
            return
        self._last_compaction = time.monotonic()
        self.store.compact_queue_counts()

    def index_search(self) -> None:
        """Index the elements written since the last tick for search, for up to
        INDEX_SLICE seconds (where the index is: writers only note which elements
        changed, see `store/queues/search.py`); one cheap read when there is nothing to
        do."""
        if self.is_holder:
            self.store.index_search_backlog(INDEX_SLICE)

    def fold_counters(self) -> None:
        """Add the jobs that ended since the last tick to the job counters `/metrics`
        reports (one short transaction; see `store/runs/counters.py`)."""
        try:
            self.store.fold_job_counters()
        except (exc.ProgrammingError, exc.OperationalError):
            if not self._counters_problem_said:
                self._counters_problem_said = True
                self._say(
                    "no job counter table in this database: run `openorch upgrade`; "
                    "/metrics reports no job counters until then."
                )

    def prune_some(self) -> None:
        """Retention, one slice per tick: the fleet's one pruner is the lease holder.

        A pass starts every `prune_every` seconds (while no policy is stored, the policy
        is looked at again every POLICY_RECHECK seconds, so one set in Settings starts
        soon) and prunes the policy's kinds in order; each tick spends at most
        PRUNE_SLICE seconds (small batches, short transactions, see
        `store/ops/retention.py`), so the lease is renewed and alerts are sent on time while
        a large backlog goes. The pass is recorded as it goes (`Prune_Runs`), and each
        finished kind is said once.
        """
        if not self.is_holder:
            return
        if not self._prune_pending:
            now = time.monotonic()
            if now - self._last_prune < self.prune_every:
                return
            if now - self._last_policy_read < POLICY_RECHECK:
                return
            policy = self._read_policy()
            if not policy:
                self._last_policy_read = now  # look again in POLICY_RECHECK seconds
                return
            self._last_prune = now
            self.prune_policy = policy
            self._prune_pending = list(policy)
            self._pruned = {kind: 0 for kind in self._prune_pending}
            self._prune_run = self.store.start_prune_run(self.holder)
        deadline = time.monotonic() + PRUNE_SLICE
        while self._prune_pending and time.monotonic() < deadline and not self._stop.is_set():
            kind = self._prune_pending[0]
            result = self.store.prune(
                kind,
                self.prune_policy[kind],
                max_seconds=max(0.0, deadline - time.monotonic()),
                should_stop=self._stop.is_set,
            )
            if self._prune_run is not None:
                self.store.record_prune_result(self._prune_run, self.prune_policy[kind], result)
            self._pruned[kind] += result.rows
            if result.finished:
                self._prune_pending.pop(0)
                if self._pruned[kind]:
                    self._say(
                        f"pruned {self._pruned[kind]:,} {kind} older than "
                        f"{self.prune_policy[kind]} days."
                    )
        if not self._prune_pending:
            self._end_prune_run(None)
        elif self._stop.is_set():
            self._end_prune_run("the Scheduler stopped; the next pass goes on")

    def _read_policy(self) -> dict[str, int]:
        """The command line's policy, else the stored one (empty on a database not
        upgraded yet: said once)."""
        if self.flag_policy:
            return dict(self.flag_policy)
        try:
            return self.store.get_retention_policy()
        except (exc.ProgrammingError, exc.OperationalError):
            if not self._policy_problem_said:
                self._policy_problem_said = True
                self._say(
                    "no retention policy table in this database: run `openorch upgrade`; "
                    "nothing is pruned until then."
                )
            return {}

    def _end_prune_run(self, note: str | None) -> None:
        """Stamp the pass under way finished (with `note` when cut short)."""
        if self._prune_run is None:
            return
        run, self._prune_run = self._prune_run, None
        if note is not None:
            self._prune_pending = []
        with contextlib.suppress(exc.SQLAlchemyError, OSError):
            self.store.finish_prune_run(run, note)

    def evaluate(self) -> None:
        """Run every enabled rule once."""
        now = self.store.database_now()
        self._opened = 0
        rules = {rule.kind: rule for rule in self.store.get_alert_rules() if rule.enabled}
        self._evaluate_jobs(rules, now)
        self._close_job_alerts(rules, now)
        for kind, find in CONDITION_RULES.items():
            rule = rules.get(kind)
            if rule is not None:
                self._evaluate_condition(rule, find(self.store, rule, now), now)
        if self._opened > QUIET_AFTER:
            self._say(f"… and {self._opened - QUIET_AFTER} more alerts opened (Alerts tab).")

    def _evaluate_jobs(self, rules: dict[str, AlertRule], now: datetime) -> None:
        enabled = [rules[kind] for kind in JOB_RULES if kind in rules]
        if not enabled:
            self._job_watermark = None
            return
        if self._job_watermark is None:
            starts = [rule.enabled_at for rule in enabled if rule.enabled_at is not None]
            self._job_watermark = (
                max([now - JOB_LOOKBACK, *starts]) if starts else now - (JOB_LOOKBACK)
            )
        statuses = (JobStatus.FAILED, JobStatus.KILLED)
        jobs = self.store.get_badly_ended_jobs(self._job_watermark, statuses, JOB_RULES)
        for job in jobs:
            kind, code, tail = classify_job(job)
            rule = rules.get(kind)
            if rule is None or (
                rule.enabled_at is not None
                and job.end_time is not None
                and job.end_time < rule.enabled_at
            ):
                continue
            # While the job's trigger is stopped the alert stays open (and recovers when
            # the trigger is reset); otherwise (no trigger, or a failure the process
            # reported while its trigger goes on) it is closed at once.
            stopped = job.trigger_status in (TriggerStatus.FAILED, TriggerStatus.KILLED)
            self._open(rule, job_finding(job, kind, code, tail), event=not stopped)
        ends = [job.end_time for job in jobs if job.end_time is not None]
        if ends:
            # A full batch: go on after it. Otherwise keep a margin, so a job a robot
            # with a slow clock ends "in the past" is still read; what was read twice
            # already has its alert and is skipped by the query.
            full = len(jobs) >= JOB_BATCH
            later = max(ends) if full else max(ends) - JOB_MARGIN
            self._job_watermark = max(self._job_watermark, later)

    def _close_job_alerts(self, rules: dict[str, AlertRule], now: datetime) -> None:
        """A job alert recovers once its trigger is no longer FAILED or KILLED (reset,
        paused or deleted); until then it may remind once."""
        for kind in JOB_RULES:
            rule = rules.get(kind)
            if rule is None:
                continue
            alerts = self.store.get_open_alerts(kind)
            if not alerts:
                continue
            ids = {alert.id: _job_id(alert.subject) for alert in alerts}
            statuses = self.store.get_job_trigger_statuses(
                [job_id for job_id in ids.values() if job_id is not None]
            )
            stopped = (TriggerStatus.FAILED, TriggerStatus.KILLED)
            findings = [
                Finding(alert.subject, alert.title, alert.body)
                for alert in alerts
                if (job_id := ids[alert.id]) is not None and statuses.get(job_id) in stopped
            ]
            self._evaluate_condition(rule, findings, now)

    def _evaluate_condition(self, rule: AlertRule, findings: list[Finding], now: datetime) -> None:
        """Open what is new, mark what still holds as seen (one statement), close what
        cleared, remind once. Steady state: two queries, whatever the number of alerts."""
        current = {finding.subject for finding in findings}
        still_open = {alert.subject: alert for alert in self.store.get_open_alerts(rule.kind)}
        for finding in findings:
            if finding.subject not in still_open:
                self._open(rule, finding, event=False)
        self.store.touch_alerts(
            [alert.id for subject, alert in still_open.items() if subject in current]
        )
        for alert in still_open.values():
            if alert.subject not in current:
                if self.store.close_alert(alert.id, notify=rule.notify_recovered):
                    self._say(f"recovered: {alert.title}")
            elif (
                rule.reminder_minutes
                and alert.reminded_at is None
                and alert.opened_at <= now - timedelta(minutes=rule.reminder_minutes)
                and self.store.remind_alert(alert.id)
            ):
                self._say(f"reminder queued: {alert.title}")

    def _open(self, rule: AlertRule, finding: Finding, *, event: bool) -> None:
        extra = self.store.recipients_for(*finding.scope) if finding.scope else None
        alert = self.store.open_alert(
            rule.kind,
            finding.subject,
            finding.title,
            finding.text,
            recipients=merge_addresses(rule.recipients, extra),
            event=event,
        )
        if alert is not None:
            self._opened += 1
            if self._opened <= QUIET_AFTER:
                self._say(f"alert opened: {alert.title}")

    # --- sending ------------------------------------------------------------------------

    def deliver(self) -> int:
        """Send every message whose time has come; returns how many were sent."""
        claimed = self.store.claim_due_deliveries(500, CLAIM_SECONDS)
        if not claimed:
            return 0
        now = self.store.database_now()
        channels: dict[str, AlertChannel | None] = {}
        by_channel: dict[str, list[tuple[AlertDelivery, Alert]]] = {}
        for delivery, alert in claimed:
            by_channel.setdefault(delivery.channel_name, []).append((delivery, alert))
        sent = 0
        for channel_name, items in by_channel.items():
            if channel_name not in channels:
                try:
                    channels[channel_name] = self.store.get_alert_channel(channel_name)
                except ValueError:
                    channels[channel_name] = None
            channel = channels[channel_name]
            if channel is None or not channel.enabled:
                for delivery, _alert in items:
                    self.store.finish_delivery(
                        delivery.id, state="failed", error="The channel was deleted or disabled."
                    )
                continue
            opened = [item for item in items if item[0].message == "opened"]
            if len(opened) > FLOOD_LIMIT:
                sent += self._send_summary(channel, opened, now)
                items = [item for item in items if item[0].message != "opened"]
            for delivery, alert in items:
                sent += self._send_one(channel, delivery, alert, now)
                self._renew_if_needed()
        return sent

    def _send_one(
        self, channel: AlertChannel, delivery: AlertDelivery, alert: Alert, now: datetime
    ) -> int:
        text = alert.body
        if delivery.message == "recovered":
            text = f"This has cleared. What was reported:\n\n{alert.body}"
        message = Message(
            message=delivery.message,
            rule=alert.rule,
            title=alert.title,
            text=text,
            opened_at=alert.opened_at,
            alert_id=str(alert.id),
            attachment=alert.attachment,
            attachment_name=alert.attachment_name,
        )
        try:
            send(self.store, channel, message, alert.recipients)
        except SendError as error:
            self._failed([delivery], channel, str(error), now)
            return 0
        self.store.finish_delivery(delivery.id, state="sent")
        self._say(f"sent '{message.subject}' via {channel.name}.")
        return 1

    def _send_summary(
        self, channel: AlertChannel, items: list[tuple[AlertDelivery, Alert]], now: datetime
    ) -> int:
        messages = [
            Message(message="opened", rule=alert.rule, title=alert.title, text=alert.body)
            for _delivery, alert in items
        ]
        recipients = merge_addresses(*(alert.recipients for _delivery, alert in items))
        summary = summary_message(messages)
        try:
            send(self.store, channel, summary, recipients)
        except SendError as error:
            self._failed([delivery for delivery, _alert in items], channel, str(error), now)
            return 0
        for delivery, _alert in items:
            self.store.finish_delivery(delivery.id, state="summarised")
        self._say(f"sent '{summary.subject}' via {channel.name}.")
        return 1

    def _failed(
        self, deliveries: list[AlertDelivery], channel: AlertChannel, error: str, now: datetime
    ) -> None:
        for delivery in deliveries:
            attempts = delivery.attempts + 1
            if now - delivery.created_at > GIVE_UP_AFTER:
                self.store.finish_delivery(delivery.id, state="failed", error=error)
                continue
            wait = backoff(attempts, self.retry_base, self.retry_cap)
            self.store.finish_delivery(delivery.id, state="pending", error=error, retry_in=wait)
        self._say(
            f"could not send via {channel.name} ({len(deliveries)} message(s)); next try in "
            f"{backoff(deliveries[0].attempts + 1, self.retry_base, self.retry_cap):g} s: {error}"
        )

    def _renew_if_needed(self) -> None:
        """Slow sends must not let the lease lapse under the sender."""
        self.store.acquire_watchdog_lease(self.holder, self.lease_seconds)


def _job_id(subject: str) -> uuid.UUID | None:
    """The job a job alert is about (its subject is the job's id)."""
    try:
        return uuid.UUID(subject)
    except ValueError:
        return None


def _database_problem(error: BaseException) -> str:
    """Why alerts wait: tables missing (an old database) or the database unreachable."""
    text = str(getattr(error, "orig", None) or error).lower()
    if "no such table" in text or "does not exist" in text or "invalid object name" in text:
        return (
            "the database has no alert tables yet: run `openorch upgrade` on it; "
            "alerts are off until then."
        )
    return f"alerts wait for the database: {describe_connection_error(error)}"

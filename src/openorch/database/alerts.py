"""Alerts: channels, rules, per-trigger/queue recipients, alert rows, their deliveries,
and the lease that makes one Scheduler of the fleet the watchdog.

openorch's own tables (the original OpenOrchestrator never reads them). An alert is a
row and every message about it (opened, reminder, recovered) to every channel is a
delivery row with a unique key, so several Schedulers can never send one twice.
"""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base
from openorch.database.ids import new_id


class AlertChannel(Base):
    """Where alerts go: an SMTP server (`kind` 'email') or a webhook (`kind` 'webhook').

    The SMTP login is the named openorch credential (its password stays encrypted in
    `Credentials`); a webhook's URL carries its secret, so it is stored Fernet-encrypted.
    """

    __tablename__ = "Alert_Channels"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    smtp_host: Mapped[str | None] = mapped_column(String(250))
    smtp_port: Mapped[int | None] = mapped_column(Integer)
    smtp_security: Mapped[str | None] = mapped_column(String(10))
    credential_name: Mapped[str | None] = mapped_column(String(100))
    sender: Mapped[str | None] = mapped_column(String(250))
    recipients: Mapped[str | None] = mapped_column(String(1000))
    webhook_url: Mapped[str | None] = mapped_column(String(4000))
    webhook_format: Mapped[str | None] = mapped_column(String(10))
    changed_at: Mapped[datetime] = mapped_column(default=datetime.now, onupdate=datetime.now)

    def __repr__(self) -> str:
        return f"AlertChannel(name={self.name!r}, kind={self.kind!r})"


class AlertRule(Base):
    """One rule per kind (see `openorch.alerts.rules.RULES`), switched on and tuned by
    an admin. `channels` is a JSON list of channel names (NULL: every enabled channel)."""

    __tablename__ = "Alert_Rules"

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    threshold: Mapped[int | None] = mapped_column(Integer)
    reminder_minutes: Mapped[int | None] = mapped_column(Integer)
    notify_recovered: Mapped[bool] = mapped_column(Boolean, default=True)
    recipients: Mapped[str | None] = mapped_column(String(1000))
    channels: Mapped[str | None] = mapped_column(String(1000))
    enabled_at: Mapped[datetime | None] = mapped_column()
    changed_at: Mapped[datetime] = mapped_column(default=datetime.now, onupdate=datetime.now)


class AlertRecipients(Base):
    """Extra email recipients for every alert about one trigger or one queue."""

    __tablename__ = "Alert_Recipients"
    __table_args__ = (UniqueConstraint("scope", "name", name="uq_Alert_Recipients_scope_name"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    scope: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    recipients: Mapped[str] = mapped_column(String(1000))


class Alert(Base):
    """One alert: a rule that fired about one subject (a job, a trigger, a Scheduler, a
    queue). `episode` counts the times the same condition opened again after closing;
    (rule, subject, episode) is unique, so an alert is opened once whoever evaluates."""

    __tablename__ = "Alerts"
    __table_args__ = (
        UniqueConstraint("rule", "subject", "episode", name="uq_Alerts_rule_subject_episode"),
        Index("ix_Alerts_subject", "subject"),
        Index("ix_Alerts_closed_at_rule", "closed_at", "rule"),
        Index("ix_Alerts_opened_at", "opened_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    rule: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(250))
    episode: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(String(8000))
    recipients: Mapped[str | None] = mapped_column(String(1000))
    opened_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    attachment_name: Mapped[str | None] = mapped_column(String(250))

    @property
    def state(self) -> str:
        """'open', 'open, sent', 'closed' … as the history shows it."""
        parts = ["closed" if self.closed_at is not None else "open"]
        parts.append("sent" if self.sent_at is not None else "not sent yet")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"Alert(rule={self.rule!r}, subject={self.subject!r}, episode={self.episode})"


class AlertDelivery(Base):
    """One message (opened, reminder or recovered) about one alert to one channel."""

    __tablename__ = "Alert_Deliveries"
    __table_args__ = (
        UniqueConstraint(
            "alert_id", "channel_name", "message", name="uq_Alert_Deliveries_alert_channel_message"
        ),
        Index("ix_Alert_Deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    alert_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel_name: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column()
    next_attempt_at: Mapped[datetime] = mapped_column()
    claimed_until: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(1000))


class WatchdogLease(Base):
    """Who evaluates the alert rules, until when (both in the database's clock)."""

    __tablename__ = "Watchdog_Leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()


class RuleKind:
    """What one rule kind means: its label, what its threshold counts, its defaults.

    `condition` rules stay open while their condition holds (reminders, "recovered");
    the others are events, closed as soon as they are opened.
    """

    def __init__(
        self,
        label: str,
        *,
        condition: bool,
        unit: str | None = None,
        default_threshold: int | None = None,
        default_enabled: bool = False,
    ) -> None:
        self.label = label
        self.condition = condition
        self.unit = unit
        self.default_threshold = default_threshold
        self.default_enabled = default_enabled


#: Every rule an admin can switch on, in the order the Alerts tab lists them.
RULE_KINDS: dict[str, RuleKind] = {
    # The job rules open one alert per job; it stays open while the job's trigger is
    # FAILED or KILLED (stopped) and recovers when someone resets the trigger.
    "job_failed": RuleKind("A job failed", condition=True),
    "job_killed": RuleKind("A job was killed", condition=True),
    "job_orphaned": RuleKind("A job's Scheduler died under it", condition=True),
    "trigger_stopped": RuleKind("A trigger stopped after a failure", condition=True),
    "trigger_overdue": RuleKind(
        "A trigger is overdue", condition=True, unit="minutes late", default_threshold=15
    ),
    "scheduler_silent": RuleKind(
        "A Scheduler went silent",
        condition=True,
        unit="minutes without heartbeat",
        default_threshold=5,
    ),
    "scheduler_clock": RuleKind(
        "A Scheduler's clock is off", condition=True, unit="seconds off", default_threshold=120
    ),
    "queue_backlog": RuleKind(
        "A queue's oldest NEW element is old",
        condition=True,
        unit="minutes old",
        default_threshold=60,
    ),
    "queue_deadline": RuleKind(
        "Queue elements passed their deadline",
        condition=True,
        unit="elements past their deadline (at least)",
        default_threshold=1,
    ),
    "queue_failures": RuleKind(
        "Many queue elements failed in the last hour",
        condition=True,
        unit="elements failed or abandoned per hour",
        default_threshold=10,
    ),
    "review_waiting": RuleKind(
        "Items wait for review too long",
        condition=True,
        unit="hours waiting",
        default_threshold=24,
    ),
    "process_alert": RuleKind(
        "A process raised an alert (SDK)", condition=False, default_enabled=True
    ),
}

#: Channel kinds, SMTP security modes and webhook body formats.
CHANNEL_KINDS = ("email", "webhook")
SMTP_SECURITY = ("starttls", "tls", "none")
WEBHOOK_FORMATS = ("plain", "teams", "slack")

#: Delivery messages and states.
MESSAGES = ("opened", "reminder", "recovered")
DELIVERY_STATES = ("pending", "sent", "summarised", "failed")

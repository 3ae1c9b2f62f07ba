"""Alerts in the data layer: the watchdog lease, alert rows and their deliveries.

Exactly-once rests on three things here: one lease row decides which Scheduler evaluates
(compared in the database server's clock, UTC); (rule, subject, episode) is unique, so
an alert is opened once; (alert, channel, message) is unique and a delivery is claimed by
one conditional UPDATE before it is sent, so a message goes out once.
"""

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, overload

from sqlalchemy import delete, exc, func, or_, select, update
from sqlalchemy.orm import Session

from openorch.database import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertRule,
    Trigger,
    WatchdogLease,
)
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store import validation as v
from openorch.store.alerts.config import (
    AlertConfigStore,
    check_rule_kind,
    merge_addresses,
    utc_to_local,
)
from openorch.store.errors import BadInput

_LEASES = table_of(WatchdogLease)
_ALERTS = table_of(Alert)
_DELIVERIES = table_of(AlertDelivery)

#: The lease row the alert watchdog holds.
WATCHDOG_LEASE = "alerts"

#: Largest attachment a process may send with an alert, in bytes.
MAX_ATTACHMENT_BYTES = 1_000_000


class AlertStore(AlertConfigStore):
    """The watchdog lease, alert rows and their deliveries (over the configuration)."""

    # --- the watchdog lease -------------------------------------------------------

    def acquire_watchdog_lease(self, holder: str, seconds: float) -> bool:
        """Take or renew the watchdog lease for `seconds`; True when `holder` has it now.

        A live lease of another holder is seen by a read, so the Schedulers that only
        wait never write. Taking over or renewing is one conditional UPDATE (still mine,
        or expired), which decides between contenders; the first ever call inserts the row.
        """
        holder = v.check_text(WatchdogLease, "holder", holder, nonblank=True) or ""

        def current(session: Session, now: datetime) -> tuple[bool, datetime | None]:
            row = session.execute(
                select(_LEASES.c.holder, _LEASES.c.expires_at, _LEASES.c.acquired_at).where(
                    _LEASES.c.name == WATCHDOG_LEASE
                )
            ).first()
            if row is None:
                return True, None
            if row.holder != holder and row.expires_at >= now:
                return False, None
            return True, row.acquired_at if row.holder == holder else now

        def peek(session: Session) -> bool:
            return current(session, self._utc_now(session))[0]

        if not self._read(peek):
            return False

        def work(session: Session) -> bool:
            # UTC from the server: Schedulers in other time zones compare alike.
            now = self._utc_now(session)
            expires = now + timedelta(seconds=seconds)
            possible, acquired = current(session, now)
            if not possible:
                return False
            result = session.execute(
                update(_LEASES)
                .where(
                    _LEASES.c.name == WATCHDOG_LEASE,
                    or_(_LEASES.c.holder == holder, _LEASES.c.expires_at < now),
                )
                .values(holder=holder, expires_at=expires, acquired_at=acquired or now)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return True
            if session.get(WatchdogLease, WATCHDOG_LEASE) is not None:
                return False
            session.add(
                WatchdogLease(
                    name=WATCHDOG_LEASE, holder=holder, acquired_at=now, expires_at=expires
                )
            )
            return True

        try:
            return self._write(work)
        except exc.IntegrityError:
            return False  # another Scheduler inserted the row first

    def release_watchdog_lease(self, holder: str) -> None:
        """Give the lease up at once (a Scheduler stopping), so another takes over."""
        self._write(
            lambda session: session.execute(
                delete(_LEASES).where(_LEASES.c.name == WATCHDOG_LEASE, _LEASES.c.holder == holder)
            )
        )

    def get_watchdog_lease(self) -> WatchdogLease | None:
        """The current lease row (None when no Scheduler ever held it)."""
        return self._read(lambda session: session.get(WatchdogLease, WATCHDOG_LEASE))

    # --- alert rows ---------------------------------------------------------------

    def open_alert(
        self,
        rule: str,
        subject: str,
        title: str,
        body: str,
        *,
        recipients: str | None = None,
        event: bool = False,
        attachment: bytes | None = None,
        attachment_name: str | None = None,
        channels: Sequence[str] | None = None,
    ) -> Alert | None:
        """Open an alert and queue its messages to `channels` (default: the rule's).

        Returns None (and only marks it seen) when the same rule already has an open alert
        about `subject`, or when an event about `subject` was already recorded, or when
        another Scheduler opened it at the same moment. An `event` is closed at once.
        """
        check_rule_kind(rule)
        title = _clip(title, 250)
        body = _clip(body, 8000)
        subject = _clip(subject, 250)

        def work(session: Session) -> Alert | None:
            now = self._now_in(session)
            latest = session.execute(
                select(Alert.id, Alert.episode, Alert.closed_at)
                .where(Alert.rule == rule, Alert.subject == subject)
                .order_by(Alert.episode.desc())
                .limit(1)
            ).first()
            if latest is not None and (latest.closed_at is None or event):
                if latest.closed_at is None:
                    session.execute(
                        update(_ALERTS).where(_ALERTS.c.id == latest.id).values(last_seen_at=now)
                    )
                return None
            alert = Alert(
                id=new_id(),
                rule=rule,
                subject=subject,
                episode=1 if latest is None else latest.episode + 1,
                title=title,
                body=body,
                recipients=recipients,
                opened_at=now,
                last_seen_at=now,
                closed_at=now if event else None,
                attempts=0,
                attachment=attachment,
                attachment_name=attachment_name,
            )
            session.add(alert)
            targets = self._channels_of(session, rule) if channels is None else channels
            utc_now = self._utc_now(session)
            for channel in unique(targets):
                session.add(_delivery(alert.id, channel, "opened", now, utc_now))
            session.flush()
            return alert

        try:
            return self._write(work)
        except exc.IntegrityError:
            return None

    def raise_process_alert(
        self,
        process_name: str,
        subject: str,
        text: str,
        *,
        trigger_id: uuid.UUID | str | None = None,
        job_id: uuid.UUID | str | None = None,
        attachment: bytes | None = None,
        attachment_name: str | None = None,
    ) -> Alert:
        """An alert a process raises itself (the SDK's `raise_alert`): sent through the
        channels of the 'process_alert' rule to its recipients and to the trigger's.

        While that rule is switched off the alert is only recorded (the history shows it),
        so a robot's run never fails because alerts are off.

        Raises:
            ValueError: empty subject or text, or an attachment over the size limit.
        """
        subject_text = v.check_text(Alert, "title", subject, label="subject", nonblank=True) or ""
        if not isinstance(text, str) or not text.strip():
            raise BadInput("text must not be empty.")
        v.check_storable("text", text)
        if attachment is not None:
            if not isinstance(attachment, bytes | bytearray):
                raise BadInput("attachment must be bytes (for example a PNG file's content).")
            if len(attachment) > MAX_ATTACHMENT_BYTES:
                raise BadInput(
                    f"attachment is too large: {len(attachment)} bytes, the limit is "
                    f"{MAX_ATTACHMENT_BYTES}."
                )
            attachment_name = v.check_text(
                Alert, "attachment_name", attachment_name or "attachment.bin"
            )
        trigger_key = v.check_optional_uuid("trigger_id", trigger_id)
        job_key = v.check_optional_uuid("job_id", job_id)
        rule = self.get_alert_rule("process_alert")
        trigger_name = None
        if trigger_key is not None:
            trigger_name = self._read(
                lambda session: session.scalar(
                    select(Trigger.trigger_name).where(Trigger.id == trigger_key)
                )
            )
        origin = [f"trigger '{trigger_name}'"] if trigger_name else []
        origin += [f"job {job_key}"] if job_key else []
        where = f" ({', '.join(origin)})" if origin else ""
        alert = self.open_alert(
            "process_alert",
            f"process:{process_name}:{new_id()}",
            subject_text,
            f"Process '{process_name}'{where} raised this alert:\n\n{text}",
            recipients=merge_addresses(
                rule.recipients, self.recipients_for("trigger", trigger_name)
            ),
            event=True,
            attachment=bytes(attachment) if attachment is not None else None,
            attachment_name=attachment_name if attachment is not None else None,
            channels=None if rule.enabled else [],
        )
        assert alert is not None  # a fresh subject cannot collide
        return alert

    def get_open_alerts(self, rule: str) -> tuple[Alert, ...]:
        """The alerts of `rule` still open (condition rules only stay open)."""
        return self._read(
            lambda session: tuple(
                session.scalars(select(Alert).where(Alert.closed_at.is_(None), Alert.rule == rule))
            )
        )

    def touch_alerts(self, alert_ids: Sequence[uuid.UUID]) -> None:
        """Record that these open alerts' conditions still hold (one statement)."""
        if not alert_ids:
            return

        def work(session: Session) -> None:
            now = self._now_in(session)
            for start in range(0, len(alert_ids), 500):
                chunk = list(alert_ids[start : start + 500])
                session.execute(
                    update(_ALERTS).where(_ALERTS.c.id.in_(chunk)).values(last_seen_at=now)
                )

        self._write(work)

    def close_alert(self, alert_id: uuid.UUID, notify: bool) -> bool:
        """Close an open alert (its condition cleared); with `notify` queue a 'recovered'
        message to each channel its opening message went to. False when already closed."""

        def work(session: Session) -> bool:
            now = self._now_in(session)
            result = session.execute(
                update(_ALERTS)
                .where(_ALERTS.c.id == alert_id, _ALERTS.c.closed_at.is_(None))
                .values(closed_at=now)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return False
            if notify:
                utc_now = self._utc_now(session)
                for channel in self._opened_channels(session, alert_id):
                    session.add(_delivery(alert_id, channel, "recovered", now, utc_now))
            return True

        return self._write(work)

    def remind_alert(self, alert_id: uuid.UUID) -> bool:
        """Queue the one reminder about an alert still open. False when already reminded."""

        def work(session: Session) -> bool:
            now = self._now_in(session)
            result = session.execute(
                update(_ALERTS)
                .where(
                    _ALERTS.c.id == alert_id,
                    _ALERTS.c.closed_at.is_(None),
                    _ALERTS.c.reminded_at.is_(None),
                )
                .values(reminded_at=now)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return False
            utc_now = self._utc_now(session)
            for channel in self._opened_channels(session, alert_id):
                session.add(_delivery(alert_id, channel, "reminder", now, utc_now))
            return True

        return self._write(work)

    def _opened_channels(self, session: Session, alert_id: uuid.UUID) -> list[str]:
        return list(
            session.scalars(
                select(AlertDelivery.channel_name).where(
                    AlertDelivery.alert_id == alert_id, AlertDelivery.message == "opened"
                )
            )
        )

    def _channels_of(self, session: Session, rule: str) -> list[str]:
        """The enabled channels a rule sends to (all enabled ones when it names none)."""
        stored = session.get(AlertRule, rule)
        enabled = list(
            session.scalars(
                select(AlertChannel.name)
                .where(AlertChannel.enabled.is_(True))
                .order_by(AlertChannel.name)
            )
        )
        if stored is None or stored.channels is None:
            return enabled
        wanted = set(json.loads(stored.channels))
        return [name for name in enabled if name in wanted]

    @overload
    def get_alerts(
        self,
        offset: int = ...,
        limit: int = ...,
        include_count: Literal[False] = ...,
        *,
        open_only: bool = ...,
    ) -> tuple[Alert, ...]: ...

    @overload
    def get_alerts(
        self,
        offset: int = ...,
        limit: int = ...,
        *,
        include_count: Literal[True],
        open_only: bool = ...,
    ) -> tuple[tuple[Alert, ...], int]: ...

    def get_alerts(
        self,
        offset: int = 0,
        limit: int = 50,
        include_count: bool = False,
        *,
        open_only: bool = False,
    ) -> tuple[Alert, ...] | tuple[tuple[Alert, ...], int]:
        """The history of alerts, newest first, one page (attachments not loaded);
        `open_only`: only the alerts not closed yet (where the Overview's figure leads).

        Raises:
            ValueError: bad paging values.
        """
        v.check_int("offset", offset, minimum=0)
        v.check_int("limit", limit, minimum=0)
        # Lazy: only the alerts page needs it (start-up time of every process).
        from sqlalchemy.orm import defer

        page = (
            select(Alert)
            .options(defer(Alert.attachment))
            .order_by(Alert.opened_at.desc(), Alert.id)
            .offset(offset)
            .limit(limit)
        )
        counted = select(func.count()).select_from(Alert)
        if open_only:
            page = page.where(Alert.closed_at.is_(None))
            counted = counted.where(Alert.closed_at.is_(None))

        def work(session: Session) -> tuple[Alert, ...] | tuple[tuple[Alert, ...], int]:
            alerts = tuple(session.scalars(page))
            for alert in alerts:
                # Touch nothing lazily after the session closes.
                session.expunge(alert)
            if not include_count:
                return alerts
            return alerts, int(session.scalar(counted) or 0)

        return self._read(work)

    def get_alert_deliveries(self, alert_id: uuid.UUID | str) -> tuple[AlertDelivery, ...]:
        """The messages about one alert, oldest first; `next_attempt_at` converted from
        UTC to local time, like every other time shown."""
        key = v.check_uuid("alert_id", alert_id)
        deliveries = self._read(
            lambda session: tuple(
                session.scalars(
                    select(AlertDelivery)
                    .where(AlertDelivery.alert_id == key)
                    .order_by(AlertDelivery.created_at, AlertDelivery.channel_name)
                )
            )
        )
        for delivery in deliveries:
            delivery.next_attempt_at = utc_to_local(delivery.next_attempt_at)
        return deliveries

    # --- sending ------------------------------------------------------------------

    def claim_due_deliveries(
        self, limit: int, claim_seconds: float
    ) -> list[tuple[AlertDelivery, Alert]]:
        """Pending messages whose time has come, each claimed for `claim_seconds` by one
        conditional UPDATE (a claim left by a Scheduler that died runs out)."""

        def work(session: Session) -> list[tuple[AlertDelivery, Alert]]:
            now = self._utc_now(session)
            rows = session.execute(
                select(AlertDelivery, Alert)
                .join(Alert, Alert.id == AlertDelivery.alert_id)
                .where(
                    AlertDelivery.state == "pending",
                    AlertDelivery.next_attempt_at <= now,
                    or_(AlertDelivery.claimed_until.is_(None), AlertDelivery.claimed_until < now),
                )
                .order_by(AlertDelivery.created_at, AlertDelivery.message)
                .limit(limit)
            ).all()
            claimed: list[tuple[AlertDelivery, Alert]] = []
            until = now + timedelta(seconds=claim_seconds)
            for delivery, alert in rows:
                result = session.execute(
                    update(_DELIVERIES)
                    .where(
                        _DELIVERIES.c.id == delivery.id,
                        _DELIVERIES.c.state == "pending",
                        or_(
                            _DELIVERIES.c.claimed_until.is_(None), _DELIVERIES.c.claimed_until < now
                        ),
                    )
                    .values(claimed_until=until)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append((delivery, alert))
            return claimed

        return self._write(work)

    def finish_delivery(
        self,
        delivery_id: uuid.UUID,
        *,
        state: str,
        error: str | None = None,
        retry_in: float | None = None,
    ) -> None:
        """Record one attempt: 'sent'/'summarised' (done), 'failed' (given up), or
        'pending' again with `retry_in` seconds of backoff and the error."""

        def work(session: Session) -> None:
            now = self._now_in(session)
            utc_now = self._utc_now(session)
            delivery = session.get(AlertDelivery, delivery_id)
            if delivery is None:
                return
            delivery.attempts += 1
            delivery.state = state
            delivery.claimed_until = None
            delivery.last_error = _clip(error, 1000) if error else None
            if state in ("sent", "summarised"):
                delivery.sent_at = now
            elif state == "pending":
                delivery.next_attempt_at = utc_now + timedelta(seconds=retry_in or 0)
            values: dict[str, Any] = {"attempts": _ALERTS.c.attempts + 1}
            session.execute(
                update(_ALERTS).where(_ALERTS.c.id == delivery.alert_id).values(**values)
            )
            if state in ("sent", "summarised") and delivery.message == "opened":
                session.execute(
                    update(_ALERTS)
                    .where(_ALERTS.c.id == delivery.alert_id, _ALERTS.c.sent_at.is_(None))
                    .values(sent_at=now)
                )

        self._write(work)


def _delivery(
    alert_id: uuid.UUID, channel: str, message: str, now: datetime, utc_now: datetime
) -> AlertDelivery:
    """A pending message; `next_attempt_at` and `claimed_until` are in UTC (compared by
    every Scheduler, whatever its zone), `created_at` and `sent_at` in local time."""
    return AlertDelivery(
        id=new_id(),
        alert_id=alert_id,
        channel_name=channel,
        message=message,
        state="pending",
        attempts=0,
        created_at=now,
        next_attempt_at=utc_now,
    )


def _clip(text: str | None, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unique(names: Iterable[str]) -> list[str]:
    """Names without repeats, in first-seen order."""
    return list(dict.fromkeys(names))

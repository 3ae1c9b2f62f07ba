"""Alerts in the data layer: channels, rules, recipients, the watchdog lease, alert rows
and their deliveries.

Exactly-once rests on three things here: one lease row decides which Scheduler evaluates
(compared in the database's clock); (rule, subject, episode) is unique, so an alert is
opened once; (alert, channel, message) is unique and a delivery is claimed by one
conditional UPDATE before it is sent, so a message goes out once.
"""

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, overload
from urllib.parse import urlsplit

from sqlalchemy import delete, exc, func, or_, select, update
from sqlalchemy.orm import Session

from openorch.database import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertRecipients,
    AlertRule,
    Credential,
    Trigger,
    WatchdogClock,
    WatchdogLease,
)
from openorch.database.alerts import (
    CHANNEL_KINDS,
    RULE_KINDS,
    SMTP_SECURITY,
    WEBHOOK_FORMATS,
)
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store import validation as v
from openorch.store.core import StoreCore

_LEASES = table_of(WatchdogLease)
_ALERTS = table_of(Alert)
_DELIVERIES = table_of(AlertDelivery)
_RULES = table_of(AlertRule)

#: The lease row the alert watchdog holds.
WATCHDOG_LEASE = "alerts"

#: Largest attachment a process may send with an alert, in bytes.
MAX_ATTACHMENT_BYTES = 1_000_000

_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


def split_addresses(text: str | None) -> list[str]:
    """Email addresses from a comma-, semicolon- or whitespace-separated text."""
    return [part for part in re.split(r"[,;\s]+", text or "") if part]


def check_addresses(field: str, text: str | None) -> str | None:
    """Normalise a list of email addresses to 'a@x, b@y' (None when empty).

    Raises:
        ValueError: one entry is not an email address.
    """
    if text is not None and not isinstance(text, str):
        raise ValueError(f"{field} must be a string, not {type(text).__name__}.")
    addresses = split_addresses(text)
    for address in addresses:
        if not _EMAIL.match(address):
            raise ValueError(f"{field}: {address!r} is not an email address.")
    joined = ", ".join(addresses)
    if len(joined) > 1000:
        raise ValueError(f"{field} is too long: {len(joined)} characters, the limit is 1000.")
    return joined or None


def mask_url(url: str) -> str:
    """A webhook URL with everything after the host hidden (its path is the secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/…"


def merge_addresses(*texts: str | None) -> str | None:
    """The union of several address lists, in first-seen order (None when empty)."""
    seen: dict[str, None] = {}
    for text in texts:
        for address in split_addresses(text):
            seen.setdefault(address, None)
    return ", ".join(seen) or None


class AlertStore(StoreCore):
    """Alert configuration and state, and the watchdog lease."""

    # --- the database's clock ---------------------------------------------------------

    def database_now(self) -> datetime:
        """The database server's clock, as a naive time in this machine's time zone (the
        zone robots write their times in), for comparing with stored times.

        Rules and leases read this, never a robot's clock alone, so a Scheduler whose
        clock is off can neither steal a live lease nor misjudge what is overdue. SQLite
        has no server: its clock is this machine's.
        """
        return self._read(self._now_in)

    def database_utc_now(self) -> datetime:
        """The database server's clock in UTC (naive): for measuring a machine's offset."""
        return self._read(self._utc_now)

    # --- the watchdog lease -------------------------------------------------------------

    def acquire_watchdog_lease(self, holder: str, seconds: float) -> bool:
        """Take or renew the watchdog lease for `seconds`; True when `holder` has it now.

        One conditional UPDATE (still mine, or expired) decides between contenders; the
        first ever call inserts the row.
        """
        holder = v.check_text(WatchdogLease, "holder", holder) or ""

        def work(session: Session) -> bool:
            # UTC from the server: Schedulers in other time zones compare alike.
            now = self._utc_now(session)
            expires = now + timedelta(seconds=seconds)
            result = session.execute(
                update(_LEASES)
                .where(
                    _LEASES.c.name == WATCHDOG_LEASE,
                    or_(_LEASES.c.holder == holder, _LEASES.c.expires_at < now),
                )
                .values(holder=holder, expires_at=expires)
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

    def record_clock_offset(self, machine_name: str, offset_seconds: float) -> None:
        """Store how far `machine_name`'s clock is from the database server's."""
        name = v.check_text(WatchdogClock, "machine_name", machine_name) or ""

        def work(session: Session) -> None:
            measured = self._utc_now(session)
            row = session.get(WatchdogClock, name)
            if row is None:
                row = WatchdogClock(machine_name=name)
                session.add(row)
            row.offset_seconds = float(offset_seconds)
            row.measured_at = measured

        try:
            self._write(work)
        except exc.IntegrityError:
            self._write(work)  # the same name inserted at the same moment: now an update

    def get_clock_offsets(self, within: timedelta) -> tuple[WatchdogClock, ...]:
        """The clock offsets measured within `within` of now (older ones are stale: that
        Scheduler stopped, which the silence rule reports)."""

        def work(session: Session) -> tuple[WatchdogClock, ...]:
            cutoff = self._utc_now(session) - within
            return tuple(
                session.scalars(
                    select(WatchdogClock)
                    .where(WatchdogClock.measured_at >= cutoff)
                    .order_by(WatchdogClock.machine_name)
                )
            )

        return self._read(work)

    def _utc_now(self, session: Session) -> datetime:
        """The database server's clock in UTC (naive), inside `session`'s transaction."""
        if self.dialect == "postgresql":
            value = session.scalar(select(func.timezone("UTC", func.now())))
        elif self.dialect == "mssql":
            value = session.scalar(select(func.sysutcdatetime()))
        else:
            return datetime.now(UTC).replace(tzinfo=None)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=None)

    def _now_in(self, session: Session) -> datetime:
        """`_utc_now` in this machine's local zone (naive), like every stored time."""
        return _utc_to_local(self._utc_now(session))

    # --- channels -----------------------------------------------------------------------

    def get_alert_channels(self) -> tuple[AlertChannel, ...]:
        """Every channel, sorted by name; webhook URLs still encrypted."""
        return self._read(
            lambda session: tuple(session.scalars(select(AlertChannel).order_by(AlertChannel.name)))
        )

    def get_alert_channel(self, name: str, decrypt: bool = False) -> AlertChannel:
        """The channel called `name`; with `decrypt` its webhook URL in clear (for sending).

        Raises:
            ValueError: no such channel, or (decrypting) no key / the wrong key.
        """
        channel = self._read(
            lambda session: session.scalar(select(AlertChannel).where(AlertChannel.name == name))
        )
        if channel is None:
            raise ValueError(f"No alert channel named {name!r} exists.")
        if decrypt and channel.webhook_url:
            channel.webhook_url = self.cipher.decrypt(channel.webhook_url)
        return channel

    def describe_alert_channel(self, channel: AlertChannel) -> str:
        """Where a channel sends, fit to show: the SMTP server or the webhook's host only."""
        if channel.kind == "email":
            login = f" as credential '{channel.credential_name}'" if channel.credential_name else ""
            return (
                f"{channel.smtp_host}:{channel.smtp_port} ({channel.smtp_security}){login}, "
                f"from {channel.sender}"
            )
        try:
            url = self.cipher.decrypt(channel.webhook_url or "")
        except ValueError:
            return f"{channel.webhook_format} webhook (URL unreadable with this key)"
        return f"{channel.webhook_format} webhook to {mask_url(url)}"

    def save_alert_channel(
        self,
        name: str,
        kind: str,
        *,
        enabled: bool = True,
        smtp_host: str | None = None,
        smtp_port: int | None = None,
        smtp_security: str | None = None,
        credential_name: str | None = None,
        sender: str | None = None,
        recipients: str | None = None,
        webhook_url: str | None = None,
        webhook_format: str | None = None,
    ) -> AlertChannel:
        """Create the channel `name`, or change it when it exists.

        An email channel needs host, port, security and sender (a credential when the
        server wants a login; it must exist). A webhook channel needs an http(s) URL and a
        format; when changing one, `webhook_url=None` keeps the stored URL.

        Raises:
            ValueError: a field is missing or wrong (nothing is written).
        """
        name = v.check_text(AlertChannel, "name", name) or ""
        if kind not in CHANNEL_KINDS:
            raise ValueError(f"kind must be one of {', '.join(CHANNEL_KINDS)}; got {kind!r}.")
        values: dict[str, Any] = {
            "kind": kind,
            "enabled": v.check_bool("enabled", enabled),
            "recipients": check_addresses("recipients", recipients),
            "smtp_host": None,
            "smtp_port": None,
            "smtp_security": None,
            "credential_name": None,
            "sender": None,
            "webhook_format": None,
        }
        if kind == "email":
            values["smtp_host"] = v.check_text(AlertChannel, "smtp_host", smtp_host, label="host")
            values["smtp_port"] = v.check_int("port", smtp_port, minimum=1)
            if values["smtp_port"] > 65535:
                raise ValueError("port must be at most 65535.")
            if smtp_security not in SMTP_SECURITY:
                raise ValueError(
                    f"security must be one of {', '.join(SMTP_SECURITY)}; got {smtp_security!r}."
                )
            values["smtp_security"] = smtp_security
            values["sender"] = check_addresses("sender", sender)
            if values["sender"] is None or "," in values["sender"]:
                raise ValueError("sender must be one email address.")
            if credential_name:
                values["credential_name"] = v.check_text(
                    AlertChannel, "credential_name", credential_name, label="credential"
                )
            values["webhook_url"] = None
        else:
            if webhook_format not in WEBHOOK_FORMATS:
                raise ValueError(
                    f"format must be one of {', '.join(WEBHOOK_FORMATS)}; got {webhook_format!r}."
                )
            values["webhook_format"] = webhook_format
            if webhook_url is not None:
                values["webhook_url"] = self._encrypt_url(webhook_url)

        def work(session: Session) -> AlertChannel:
            if values["credential_name"] and session.get(
                Credential, values["credential_name"]
            ) is None:
                raise ValueError(f"No credential named {values['credential_name']!r} exists.")
            channel = session.scalar(select(AlertChannel).where(AlertChannel.name == name))
            if channel is None:
                if kind == "webhook" and "webhook_url" not in values:
                    raise ValueError("url is required for a new webhook channel.")
                channel = AlertChannel(id=new_id(), name=name)
                session.add(channel)
            elif kind == "webhook" and "webhook_url" not in values and not channel.webhook_url:
                raise ValueError("url is required for a webhook channel.")
            for field, value in values.items():
                setattr(channel, field, value)
            session.flush()
            return channel

        return self._write(work)

    def _encrypt_url(self, url: object) -> str:
        if not isinstance(url, str) or not url.strip():
            raise ValueError("url is required: the webhook's https:// address.")
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an http:// or https:// address.")
        v.check_storable("url", url)
        token = self.cipher.encrypt(url)
        if len(token) > v.column_length(AlertChannel, "webhook_url"):
            raise ValueError("url is too long.")
        return token

    def delete_alert_channel(self, name: str) -> None:
        """Delete a channel (its past deliveries stay in the history).

        Raises:
            ValueError: no such channel.
        """

        def work(session: Session) -> None:
            result = session.execute(
                delete(table_of(AlertChannel)).where(table_of(AlertChannel).c.name == name)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise ValueError(f"No alert channel named {name!r} exists.")

        self._write(work)

    # --- rules --------------------------------------------------------------------------

    def get_alert_rules(self) -> tuple[AlertRule, ...]:
        """Every rule kind in catalogue order; kinds never saved come with their defaults."""
        stored = self._read(
            lambda session: {rule.kind: rule for rule in session.scalars(select(AlertRule))}
        )
        return tuple(stored.get(kind) or _default_rule(kind) for kind in RULE_KINDS)

    def get_alert_rule(self, kind: str) -> AlertRule:
        """One rule (its defaults when never saved).

        Raises:
            ValueError: unknown kind.
        """
        _check_kind(kind)
        rule = self._read(lambda session: session.get(AlertRule, kind))
        return rule or _default_rule(kind)

    def save_alert_rule(
        self,
        kind: str,
        *,
        enabled: bool,
        threshold: int | None = None,
        reminder_minutes: int | None = None,
        notify_recovered: bool = True,
        recipients: str | None = None,
        channels: Sequence[str] | None = None,
    ) -> AlertRule:
        """Switch a rule on or off and tune it. Switching it on stamps `enabled_at`, so
        events from before (old failed jobs) are not reported.

        Raises:
            ValueError: unknown kind, a threshold below 1, a bad address or an unknown
                channel (nothing is written).
        """
        _check_kind(kind)
        catalogue = RULE_KINDS[kind]
        enabled = v.check_bool("enabled", enabled)
        if catalogue.unit is not None:
            threshold = v.check_int(
                "threshold", catalogue.default_threshold if threshold is None else threshold,
                minimum=1,
            )
        else:
            threshold = None
        if reminder_minutes is not None:
            reminder_minutes = v.check_int("reminder_minutes", reminder_minutes, minimum=1)
        addresses = check_addresses("recipients", recipients)
        channel_json = None
        if channels is not None:
            names = [str(name) for name in channels]
            channel_json = json.dumps(names)
            if len(channel_json) > 1000:
                raise ValueError("Too many channels for one rule.")

        def work(session: Session) -> AlertRule:
            if channels is not None:
                known = set(session.scalars(select(AlertChannel.name)))
                unknown = [name for name in json.loads(channel_json or "[]") if name not in known]
                if unknown:
                    raise ValueError(f"No alert channel named {unknown[0]!r} exists.")
            rule = session.get(AlertRule, kind)
            if rule is None:
                rule = _default_rule(kind)
                rule.enabled = False
                session.add(rule)
            if enabled and not rule.enabled:
                rule.enabled_at = self._now_in(session)
            rule.enabled = enabled
            rule.threshold = threshold
            rule.reminder_minutes = reminder_minutes
            rule.notify_recovered = v.check_bool("notify_recovered", notify_recovered)
            rule.recipients = addresses
            rule.channels = channel_json
            session.flush()
            return rule

        return self._write(work)

    # --- recipients per trigger or queue ---------------------------------------------------

    def get_alert_recipients(self) -> tuple[AlertRecipients, ...]:
        """Every per-trigger and per-queue recipient list, by scope and name."""
        return self._read(
            lambda session: tuple(
                session.scalars(
                    select(AlertRecipients).order_by(AlertRecipients.scope, AlertRecipients.name)
                )
            )
        )

    def set_alert_recipients(self, scope: str, name: str, recipients: str | None) -> None:
        """Extra recipients for alerts about the trigger or queue `name` (empty: remove).

        Raises:
            ValueError: scope not 'trigger' or 'queue', empty name, bad address.
        """
        if scope not in ("trigger", "queue"):
            raise ValueError(f"scope must be 'trigger' or 'queue'; got {scope!r}.")
        name = v.check_text(AlertRecipients, "name", name) or ""
        addresses = check_addresses("recipients", recipients)
        table = table_of(AlertRecipients)

        def work(session: Session) -> None:
            session.execute(delete(table).where(table.c.scope == scope, table.c.name == name))
            if addresses:
                session.add(
                    AlertRecipients(id=new_id(), scope=scope, name=name, recipients=addresses)
                )

        self._write(work)

    def recipients_for(self, scope: str, name: str | None) -> str | None:
        """The extra recipients for one trigger or queue (None when none are set)."""
        if not name:
            return None
        return self._read(
            lambda session: session.scalar(
                select(AlertRecipients.recipients).where(
                    AlertRecipients.scope == scope, AlertRecipients.name == name
                )
            )
        )

    # --- alert rows -------------------------------------------------------------------------

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
        _check_kind(rule)
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
        subject_text = v.check_text(Alert, "title", subject, label="subject") or ""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("text must not be empty.")
        v.check_storable("text", text)
        if attachment is not None:
            if not isinstance(attachment, bytes | bytearray):
                raise ValueError("attachment must be bytes (for example a PNG file's content).")
            if len(attachment) > MAX_ATTACHMENT_BYTES:
                raise ValueError(
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
                session.scalars(
                    select(Alert).where(Alert.closed_at.is_(None), Alert.rule == rule)
                )
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
                select(AlertChannel.name).where(AlertChannel.enabled.is_(True))
                .order_by(AlertChannel.name)
            )
        )
        if stored is None or stored.channels is None:
            return enabled
        wanted = set(json.loads(stored.channels))
        return [name for name in enabled if name in wanted]

    @overload
    def get_alerts(
        self, offset: int = ..., limit: int = ..., include_count: Literal[False] = ...
    ) -> tuple[Alert, ...]: ...

    @overload
    def get_alerts(
        self, offset: int = ..., limit: int = ..., *, include_count: Literal[True]
    ) -> tuple[tuple[Alert, ...], int]: ...

    def get_alerts(
        self, offset: int = 0, limit: int = 50, include_count: bool = False
    ) -> tuple[Alert, ...] | tuple[tuple[Alert, ...], int]:
        """The history of alerts, newest first, one page (attachments not loaded).

        Raises:
            ValueError: bad paging values.
        """
        v.check_int("offset", offset, minimum=0)
        v.check_int("limit", limit, minimum=0)
        from sqlalchemy.orm import defer

        page = (
            select(Alert)
            .options(defer(Alert.attachment))
            .order_by(Alert.opened_at.desc(), Alert.id)
            .offset(offset)
            .limit(limit)
        )

        def work(session: Session) -> tuple[Alert, ...] | tuple[tuple[Alert, ...], int]:
            alerts = tuple(session.scalars(page))
            for alert in alerts:
                # Touch nothing lazily after the session closes.
                session.expunge(alert)
            if not include_count:
                return alerts
            return alerts, int(session.scalar(select(func.count()).select_from(Alert)) or 0)

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
            delivery.next_attempt_at = _utc_to_local(delivery.next_attempt_at)
        return deliveries

    # --- sending ------------------------------------------------------------------------------

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
                        or_(_DELIVERIES.c.claimed_until.is_(None),
                            _DELIVERIES.c.claimed_until < now),
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


def _utc_to_local(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


def _check_kind(kind: str) -> None:
    if kind not in RULE_KINDS:
        raise ValueError(f"Unknown alert rule {kind!r}; known: {', '.join(RULE_KINDS)}.")


def _default_rule(kind: str) -> AlertRule:
    catalogue = RULE_KINDS[kind]
    return AlertRule(
        kind=kind,
        enabled=catalogue.default_enabled,
        threshold=catalogue.default_threshold,
        reminder_minutes=None,
        notify_recovered=True,
        recipients=None,
        channels=None,
        enabled_at=None,
    )


def _delivery(alert_id: uuid.UUID, channel: str, message: str, now: datetime,
              utc_now: datetime) -> AlertDelivery:
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

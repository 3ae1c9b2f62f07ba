"""Alert configuration in the data layer: channels, rules, recipients per trigger or
queue, and the database's clock the rest of alerts runs on.

A webhook URL carries its secret, so it is stored Fernet-encrypted and only shown as its
host; an SMTP login is the name of an openorch credential (its password stays encrypted
in `Credentials`).
"""

import functools
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from openorch.database import (
    AlertChannel,
    AlertRecipients,
    AlertRule,
    Credential,
)
from openorch.database.alerts import (
    CHANNEL_KINDS,
    RULE_KINDS,
    SMTP_SECURITY,
    WEBHOOK_FORMATS,
)
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.masking import mask_url
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput, NotFound
from openorch.store.runs import state

_EMAIL = r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$"


@functools.cache
def _email() -> re.Pattern[str]:
    """`_EMAIL` compiled on first use (this module is on every SDK process's import path)."""
    return re.compile(_EMAIL)


def split_addresses(text: str | None) -> list[str]:
    """Email addresses from a comma-, semicolon- or whitespace-separated text."""
    return [part for part in re.split(r"[,;\s]+", text or "") if part]


def check_addresses(field: str, text: str | None) -> str | None:
    """Normalise a list of email addresses to 'a@x, b@y' (None when empty).

    Raises:
        ValueError: one entry is not an email address.
    """
    if text is not None and not isinstance(text, str):
        raise BadInput(f"{field} must be a string, not {type(text).__name__}.")
    addresses = split_addresses(text)
    for address in addresses:
        if not _email().match(address):
            raise BadInput(f"{field}: {address!r} is not an email address.")
    joined = ", ".join(addresses)
    if len(joined) > 1000:
        raise BadInput(f"{field} is too long: {len(joined)} characters, the limit is 1000.")
    return joined or None


def merge_addresses(*texts: str | None) -> str | None:
    """The union of several address lists, in first-seen order (None when empty)."""
    seen: dict[str, None] = {}
    for text in texts:
        for address in split_addresses(text):
            seen.setdefault(address, None)
    return ", ".join(seen) or None


class AlertConfigStore(StoreCore):
    """The database's clock, alert channels, rules and recipients."""

    # --- the database's clock -----------------------------------------------------

    def database_now(self) -> datetime:
        """The database's clock (as heartbeats are stamped), for the rules' comparisons.

        Rules read this, never a robot's clock, so a Scheduler whose clock is off cannot
        misjudge what is overdue. SQLite has no server: its clock is this machine's.
        """
        return self._read(self._now_in)

    def database_utc_now(self) -> datetime:
        """The database server's clock in UTC (naive): leases and retry times use it, so
        Schedulers agree whatever their time zone."""
        return self._read(self._utc_now)

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
        """The database's clock as heartbeats and reaping read it (`state.database_now`),
        inside `session`'s transaction."""
        return state.database_now(session.connection())

    # --- channels -----------------------------------------------------------------

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
            raise NotFound(f"No alert channel named {name!r} exists.")
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
        name = v.check_text(AlertChannel, "name", name, nonblank=True) or ""
        if kind not in CHANNEL_KINDS:
            raise BadInput(f"kind must be one of {', '.join(CHANNEL_KINDS)}; got {kind!r}.")
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
            values.update(
                _email_values(smtp_host, smtp_port, smtp_security, sender, credential_name)
            )
        else:
            values["webhook_format"] = _webhook_format(webhook_format)
            if webhook_url is not None:
                values["webhook_url"] = self._encrypt_url(webhook_url)

        def work(session: Session) -> AlertChannel:
            channel = session.scalar(select(AlertChannel).where(AlertChannel.name == name))
            _check_references(session, values, channel)
            if channel is None:
                channel = AlertChannel(id=new_id(), name=name)
                session.add(channel)
            for field, value in values.items():
                setattr(channel, field, value)
            session.flush()
            return channel

        return self._write(work)

    def _encrypt_url(self, url: object) -> str:
        if not isinstance(url, str) or not url.strip():
            raise BadInput("url is required: the webhook's https:// address.")
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadInput("url must be an http:// or https:// address.")
        v.check_storable("url", url)
        token = self.cipher.encrypt(url)
        if len(token) > v.column_length(AlertChannel, "webhook_url"):
            raise BadInput("url is too long.")
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
                raise NotFound(f"No alert channel named {name!r} exists.")

        self._write(work)

    # --- rules --------------------------------------------------------------------

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
        check_rule_kind(kind)
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
        check_rule_kind(kind)
        catalogue = RULE_KINDS[kind]
        enabled = v.check_bool("enabled", enabled)
        if catalogue.unit is not None:
            threshold = v.check_int(
                "threshold",
                catalogue.default_threshold if threshold is None else threshold,
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
                raise BadInput("Too many channels for one rule.")

        def work(session: Session) -> AlertRule:
            if channels is not None:
                known = set(session.scalars(select(AlertChannel.name)))
                unknown = [name for name in json.loads(channel_json or "[]") if name not in known]
                if unknown:
                    raise NotFound(f"No alert channel named {unknown[0]!r} exists.")
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

    # --- recipients per trigger or queue ------------------------------------------

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
            raise BadInput(f"scope must be 'trigger' or 'queue'; got {scope!r}.")
        name = v.check_text(AlertRecipients, "name", name, nonblank=True) or ""
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


def utc_to_local(value: datetime) -> datetime:
    """A naive UTC time as naive local time (the zone every stored time is in)."""
    return value.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


def check_rule_kind(kind: str) -> None:
    """Raise ValueError naming the known rules when `kind` is not one of them."""
    if kind not in RULE_KINDS:
        raise BadInput(f"Unknown alert rule {kind!r}; known: {', '.join(RULE_KINDS)}.")


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


def _email_values(
    host: str | None,
    port: int | None,
    security: str | None,
    sender: str | None,
    credential_name: str | None,
) -> dict[str, Any]:
    """An email channel's checked columns (host, port, security, one sender, an optional
    credential; no webhook URL).

    Raises:
        BadInput: a field is missing or wrong.
    """
    values: dict[str, Any] = {
        "smtp_host": v.check_text(AlertChannel, "smtp_host", host, label="host", nonblank=True),
        "smtp_port": v.check_int("port", port, minimum=1),
        "webhook_url": None,
    }
    if values["smtp_port"] > 65535:
        raise BadInput("port must be at most 65535.")
    if security not in SMTP_SECURITY:
        raise BadInput(f"security must be one of {', '.join(SMTP_SECURITY)}; got {security!r}.")
    values["smtp_security"] = security
    values["sender"] = check_addresses("sender", sender)
    if values["sender"] is None or "," in values["sender"]:
        raise BadInput("sender must be one email address.")
    if credential_name:
        values["credential_name"] = v.check_text(
            AlertChannel, "credential_name", credential_name, label="credential"
        )
    return values


def _webhook_format(webhook_format: str | None) -> str:
    """A webhook channel's format, checked.

    Raises:
        BadInput: not one of WEBHOOK_FORMATS.
    """
    if webhook_format not in WEBHOOK_FORMATS:
        raise BadInput(
            f"format must be one of {', '.join(WEBHOOK_FORMATS)}; got {webhook_format!r}."
        )
    return webhook_format


def _check_references(
    session: Session, values: dict[str, Any], channel: AlertChannel | None
) -> None:
    """What the new values need from the database: the credential exists; a webhook
    channel has a URL, given now or stored before.

    Raises:
        NotFound: no credential with that name.
        BadInput: a webhook channel without a URL.
    """
    credential = values["credential_name"]
    if credential and session.get(Credential, credential) is None:
        raise NotFound(f"No credential named {credential!r} exists.")
    if values["kind"] == "webhook" and "webhook_url" not in values:
        if channel is None:
            raise BadInput("url is required for a new webhook channel.")
        if not channel.webhook_url:
            raise BadInput("url is required for a webhook channel.")

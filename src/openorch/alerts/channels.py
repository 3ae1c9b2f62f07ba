"""Sending a message through a channel: SMTP (STARTTLS, TLS or plain) or a webhook.

Errors come back as `SendError` with a message fit for logs: it never holds the SMTP
password (only the server's reply) nor the webhook URL (whose path is the secret).
"""

import smtplib
import ssl
import urllib.error
import urllib.request

from openorch.alerts.messages import Message, email_message, webhook_body
from openorch.database import AlertChannel
from openorch.store import Store
from openorch.store.alerts.config import merge_addresses, split_addresses

#: Seconds to wait for an SMTP server or a webhook before the attempt counts as failed.
SEND_TIMEOUT = 20.0


class SendError(Exception):
    """A message could not be sent; the text says why (no secrets in it)."""


def send(store: Store, channel: AlertChannel, message: Message, recipients: str | None) -> None:
    """Send `message` through `channel`; email goes to the channel's recipients plus
    `recipients`.

    Raises:
        SendError: the server refused or could not be reached, or no recipients.
    """
    if channel.kind == "email":
        _send_email(store, channel, message, recipients)
    else:
        _send_webhook(store, channel, message)


def send_test(store: Store, channel_name: str) -> None:
    """Send a test message through a channel at once ("send a test" in the Alerts tab).

    Raises:
        SendError: it could not be sent (the reason in words an admin can act on).
        ValueError: no such channel.
    """
    channel = store.get_alert_channel(channel_name)
    send(
        store,
        channel,
        Message(
            message="test",
            rule="test",
            title=f"channel '{channel.name}' works",
            text="This is a test message from openorch's Alerts tab. If you read it, alerts "
            "sent through this channel reach you.",
        ),
        None,
    )


def _send_email(
    store: Store, channel: AlertChannel, message: Message, recipients: str | None
) -> None:
    to = split_addresses(merge_addresses(channel.recipients, recipients))
    if not to:
        raise SendError(
            f"No recipients: give channel '{channel.name}' recipients, or the rule some."
        )
    username = password = None
    if channel.credential_name:
        try:
            credential = store.get_credential(channel.credential_name)
        except ValueError as error:
            raise SendError(f"The SMTP login cannot be read: {error}") from None
        username, password = credential.username, credential.password
    email = email_message(message, channel.sender or "", to)
    host, port = channel.smtp_host or "", int(channel.smtp_port or 25)
    context = ssl.create_default_context()
    try:
        if channel.smtp_security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=SEND_TIMEOUT, context=context
            )
        else:
            client = smtplib.SMTP(host, port, timeout=SEND_TIMEOUT)
        with client:
            if channel.smtp_security == "starttls":
                client.starttls(context=context)
            if username is not None and password is not None:
                client.login(username, password)
            client.send_message(email)
    except smtplib.SMTPAuthenticationError as error:
        raise SendError(
            f"The SMTP server {host}:{port} refused the login of credential "
            f"'{channel.credential_name}' ({error.smtp_code})."
        ) from None
    except smtplib.SMTPException as error:
        raise SendError(f"SMTP error from {host}:{port}: {_first_line(error)}") from None
    except (OSError, ssl.SSLError) as error:
        reason = _first_line(error)
        raise SendError(f"Cannot reach the SMTP server {host}:{port}: {reason}") from None


def _send_webhook(store: Store, channel: AlertChannel, message: Message) -> None:
    try:
        url = store.cipher.decrypt(channel.webhook_url or "")
    except ValueError as error:
        raise SendError(f"The webhook URL cannot be read: {error}") from None
    request = urllib.request.Request(
        url,
        data=webhook_body(message, channel.webhook_format or "plain"),
        headers={"Content-Type": "application/json", "User-Agent": "openorch-alerts"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise SendError(f"The webhook answered HTTP {error.code} {error.reason}.") from None
    except urllib.error.URLError as error:
        raise SendError(f"Cannot reach the webhook: {error.reason}") from None
    except OSError as error:
        raise SendError(f"Cannot reach the webhook: {_first_line(error)}") from None
    if not 200 <= status < 300:
        raise SendError(f"The webhook answered HTTP {status}.")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__

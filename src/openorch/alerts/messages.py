"""What an alert says: one `Message`, rendered as an email or as a webhook body.

Teams and Slack incoming webhooks each want their own JSON; 'plain' is a flat object
for anything else (a chat bridge, a ticket system, a script).
"""

import json
from dataclasses import dataclass
from datetime import datetime
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any

#: Subject prefix of every message, so mail rules can sort them.
PREFIX = "[openorch]"

_WORDS = {"opened": "", "reminder": "Still: ", "recovered": "Recovered: ", "test": "Test: "}


def format_datetime(value: datetime | None, empty: str = "") -> str:
    """A datetime as openorch shows it everywhere (dd-mm-YYYY HH:MM:SS)."""
    return empty if value is None else value.strftime("%d-%m-%Y %H:%M:%S")


@dataclass
class Message:
    """One notification about an alert (or a summary of several, or a test)."""

    message: str  # 'opened', 'reminder', 'recovered', 'summary' or 'test'
    rule: str
    title: str
    text: str
    opened_at: datetime | None = None
    alert_id: str | None = None
    attachment: bytes | None = None
    attachment_name: str | None = None

    @property
    def subject(self) -> str:
        """The one-line headline: prefix, what happened to the alert, its title."""
        return f"{PREFIX} {_WORDS.get(self.message, '')}{self.title}"

    @property
    def full_text(self) -> str:
        """The body with a footer saying when it opened and which rule fired."""
        footer = [f"Rule: {self.rule}"]
        if self.opened_at is not None:
            footer.append(f"Opened: {format_datetime(self.opened_at)}")
        if self.attachment_name and self.attachment is not None:
            footer.append(f"Attachment: {self.attachment_name} ({len(self.attachment)} bytes)")
        return f"{self.text}\n\n" + "\n".join(footer)


def summary_message(messages: list[Message]) -> Message:
    """One message standing for many (a flood): a count and one line per alert."""
    lines = [f"- {message.subject.removeprefix(PREFIX + ' ')}" for message in messages[:100]]
    if len(messages) > 100:
        lines.append(f"- … and {len(messages) - 100} more (see the Orchestrator's Alerts tab)")
    rules = sorted({message.rule for message in messages})
    return Message(
        message="summary",
        rule=", ".join(rules),
        title=f"{len(messages)} alerts at once",
        text="Too many alerts arrived together to send one by one:\n" + "\n".join(lines),
    )


def email_message(message: Message, sender: str, recipients: list[str]) -> EmailMessage:
    """The message as an email, with its attachment when it has one."""
    # Long subjects stay on one line (RFC 5322 allows 998): some receivers keep the
    # space a folded "Subject:" line starts with.
    email = EmailMessage(policy=email_policy.SMTP.clone(max_line_length=998))
    email["Subject"] = message.subject
    email["From"] = sender
    email["To"] = ", ".join(recipients)
    email.set_content(message.full_text)
    if message.attachment is not None:
        name = message.attachment_name or "attachment.bin"
        maintype, subtype = _mime_type(name)
        email.add_attachment(message.attachment, maintype=maintype, subtype=subtype, filename=name)
    return email


def _mime_type(name: str) -> tuple[str, str]:
    import mimetypes

    guessed, _encoding = mimetypes.guess_type(name)
    if guessed and "/" in guessed:
        maintype, subtype = guessed.split("/", 1)
        return maintype, subtype
    return "application", "octet-stream"


def webhook_body(message: Message, body_format: str) -> bytes:
    """The JSON body for a webhook of `body_format` ('plain', 'teams' or 'slack')."""
    payload: dict[str, Any]
    if body_format == "slack":
        payload = {"text": f"*{message.subject}*\n{message.full_text}"}
    elif body_format == "teams":
        # A Teams "Workflows" incoming webhook takes an Adaptive Card in a message.
        payload = {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {
                                "type": "TextBlock",
                                "text": message.subject,
                                "weight": "Bolder",
                                "size": "Medium",
                                "wrap": True,
                            },
                            {"type": "TextBlock", "text": message.full_text, "wrap": True},
                        ],
                    },
                }
            ],
        }
    else:
        payload = {
            "event": message.message,
            "rule": message.rule,
            "title": message.title,
            "subject": message.subject,
            "text": message.text,
            "opened_at": message.opened_at.isoformat() if message.opened_at else None,
            "alert_id": message.alert_id,
            "attachment_name": message.attachment_name if message.attachment else None,
        }
    return json.dumps(payload).encode("utf-8")

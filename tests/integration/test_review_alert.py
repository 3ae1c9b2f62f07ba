"""The alert rule "items wait for review too long" (issue 27), with a real SMTP server:
opens once per queue while items wait past the threshold, recovers once they are decided."""

from datetime import datetime, timedelta

import sqlalchemy as sa

from openorch.alerts import Watchdog
from openorch.database import QueueStatus, ReviewItem
from openorch.database.base import table_of
from openorch.store import Store
from support.receivers import SMTP_LOGIN, SmtpSink

USERNAME, PASSWORD = SMTP_LOGIN


def test_items_waiting_for_review_too_long(store: Store, smtp: SmtpSink) -> None:
    store.create_credential("smtp login", USERNAME, PASSWORD)
    store.save_alert_channel(
        "mail",
        "email",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        credential_name="smtp login",
        sender="openorch@example.com",
        recipients="team@example.com",
    )
    store.save_alert_rule("review_waiting", enabled=True, threshold=8)
    for queue, reference in (("claims", "old"), ("claims", "older"), ("fresh", "new")):
        element = store.create_queue_element(queue, reference)
        assert store.get_next_queue_element(queue) is not None
        store.set_queue_element_status(element.id, QueueStatus.FAILED, "?", kind="business")
    reviews = table_of(ReviewItem)
    with store.engine.begin() as connection:
        connection.execute(
            sa.update(reviews)
            .where(reviews.c.queue_name == "claims")
            .values(created_date=datetime.now() - timedelta(hours=9))
        )
    watchdog = Watchdog(store, "robot-1", [].append, interval=0.0, lease_seconds=60)
    watchdog.tick()
    [mail] = smtp.wait_for(1)
    assert mail["Subject"] == "[openorch] Queue 'claims': 2 items wait for review"
    for entry in store.list_review_items():
        store.decide_review_item(entry.item.id, "abandon", "too old", "ops")
    watchdog.tick()
    mails = smtp.wait_for(2)
    assert "claims" in mails[1]["Subject"] and len(mails) == 2

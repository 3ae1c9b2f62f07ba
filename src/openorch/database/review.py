"""The review inbox and the history of every queue element (issue 27).

Both tables are openorch's own: the original OpenOrchestrator never reads them, so an
element waiting for a person stays an ordinary FAILED row of `Queues` to it (no new
status value it could not read). Like the pipeline tables there is no foreign key to
`Queues` (the original deletes elements without knowing these tables); the data layer
reads review items joined to their element, so rows left behind are never shown.
"""

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base
from openorch.database.ids import new_id


class ReviewItem(Base):
    """One element waiting for (or decided by) a person (table `Queue_Reviews`).

    `kind` is why it came: "business" (a business failure), "application" (application
    retries used up) or "decision" (a pipeline step asked with `wait_for_review`). `state`
    is "open" until someone decides; the decision is written by one conditional UPDATE
    (`WHERE state = 'open'`), so of two people deciding at once exactly one wins.
    `form` is the JSON form a pipeline step asked to be filled, `form_values` the JSON
    the decider filled in (the next step reads it).
    """

    __tablename__ = "Queue_Reviews"
    __table_args__ = (
        Index("ix_Queue_Reviews_state_created_date", "state", "created_date"),
        Index("ix_Queue_Reviews_element_id", "element_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    element_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    queue_name: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(20))
    created_date: Mapped[datetime] = mapped_column(default=datetime.now)
    assignee: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(10), default="open")
    decision: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(String(1000))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_date: Mapped[datetime | None] = mapped_column()
    form: Mapped[str | None] = mapped_column(Text)
    form_values: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return (
            f"ReviewItem(id={self.id}, element_id={self.element_id}, kind={self.kind!r}, "
            f"state={self.state!r}, decision={self.decision!r})"
        )


class ElementEvent(Base):
    """One change of a queue element (table `Queue_Element_History`), append-only.

    `event` is one of `openorch.store.queues.history.EVENTS`; `actor` says who (a
    process and its job, an API token, an admin); `details` is a JSON object (the
    failure's kind and message, the decision and comment, the edited fields, ...).
    """

    __tablename__ = "Queue_Element_History"
    __table_args__ = (Index("ix_Queue_Element_History_element_id_at", "element_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    element_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column()
    event: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"ElementEvent(element_id={self.element_id}, event={self.event!r}, at={self.at})"

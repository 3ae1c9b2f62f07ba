"""Queue elements: units of work that processes claim one at a time."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Uuid, event
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base, enum_column_type
from openorch.database.filtered_indexes import attach_filtered_indexes
from openorch.database.ids import new_id
from openorch.database.rows import shown


class QueueStatus(enum.Enum):
    """Where a queue element stands. The member name is stored."""

    NEW = "New"
    IN_PROGRESS = "In Progress"
    DONE = "Done"
    FAILED = "Failed"
    ABANDONED = "Abandoned"


class QueueElement(Base):
    """One element of a named queue (the table is `Queues`, one row per element).

    The composite indexes are openorch's: claiming the oldest NEW element, counting per
    status and paging one queue by date must not scan the whole table.

    `job_id`, `attempts`, `not_before`, `deadline` and `unique_reference` are openorch's
    additions (NULL in rows the original writes, and ignored by it): the job that claimed
    the element (so its end releases the element), how many attempts ended without
    success, when a deferred element may be claimed, when it must be done, and the
    reference again for queues with unique references. A filtered unique index over
    (queue_name, unique_reference) makes "one element per reference" race-safe on SQLite,
    PostgreSQL and SQL Server alike, and costs nothing for queues that do not ask for it.
    Those filtered indexes are declared in `filtered_indexes.py` and attached only where a
    schema is created or compared: their per-dialect options would otherwise load
    SQLAlchemy's PostgreSQL and SQL Server dialects into every SDK process.
    """

    __tablename__ = "Queues"
    __table_args__ = (
        Index("ix_Queues_queue_name_status_created_date", "queue_name", "status", "created_date"),
        Index("ix_Queues_queue_name_created_date", "queue_name", "created_date"),
        Index("ix_Queues_queue_name_reference", "queue_name", "reference"),
        # The Overview: backlog and oldest NEW per queue; elements finished per queue lately
        # (the watchdog's "failed or abandoned in the last hour" reads the second's prefix).
        Index("ix_Queues_status_queue_name_created_date", "status", "queue_name", "created_date"),
        Index("ix_Queues_status_end_date_queue_name", "status", "end_date", "queue_name"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    queue_name: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[QueueStatus] = mapped_column(
        enum_column_type(QueueStatus), default=QueueStatus.NEW
    )
    data: Mapped[str | None] = mapped_column(String(2000))
    reference: Mapped[str | None] = mapped_column(String(100))
    created_date: Mapped[datetime] = mapped_column(default=datetime.now, index=True)
    start_date: Mapped[datetime | None] = mapped_column()
    end_date: Mapped[datetime | None] = mapped_column()
    message: Mapped[str | None] = mapped_column(String(1000))
    created_by: Mapped[str | None] = mapped_column(String(100))
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    attempts: Mapped[int | None] = mapped_column(Integer)
    not_before: Mapped[datetime | None] = mapped_column()
    deadline: Mapped[datetime | None] = mapped_column()
    unique_reference: Mapped[str | None] = mapped_column(String(100))

    def to_row_dict(self) -> dict[str, object]:
        """The original's row for this element (its Queue table; id and status stay
        objects there)."""
        return {
            "ID": self.id,
            "Reference": self.reference,
            "Status": self.status,
            "Data": self.data,
            "Created Date": shown(self.created_date),
            "Start Date": shown(self.start_date),
            "End Date": shown(self.end_date),
            "Message": self.message,
            "Created By": self.created_by,
        }

    def __repr__(self) -> str:
        return (
            f"QueueElement(id={self.id}, queue_name={self.queue_name!r}, "
            f"reference={self.reference!r}, status={self.status.name})"
        )


def _attach_filtered_indexes(target: object, *_args: object, **_kwargs: object) -> None:
    attach_filtered_indexes(target)


# create_all (the compatibility package's tools and tests) gets them just in time.
event.listen(QueueElement.__table__, "before_create", _attach_filtered_indexes)


class QueueSettings(Base):
    """openorch's per-queue settings (a queue itself still exists by name only, as in the
    original). A queue without a row here has the defaults: one attempt, no retry delay,
    references not unique, no default deadline.
    """

    __tablename__ = "Queue_Settings"

    queue_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    retry_delay_seconds: Mapped[int] = mapped_column(Integer, default=0)
    unique_references: Mapped[bool] = mapped_column(Boolean, default=False)
    default_deadline_seconds: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(String(1000))
    #: What goes to the review inbox (issue 27); NULL is the default: business failures
    #: yes (`review_business`), elements whose application retries are used up no.
    review_business: Mapped[bool | None] = mapped_column(Boolean)
    review_exhausted: Mapped[bool | None] = mapped_column(Boolean)

    def __repr__(self) -> str:
        return (
            f"QueueSettings(queue_name={self.queue_name!r}, max_attempts={self.max_attempts}, "
            f"retry_delay_seconds={self.retry_delay_seconds}, "
            f"unique_references={self.unique_references})"
        )

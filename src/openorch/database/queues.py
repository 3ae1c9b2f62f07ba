"""Queue elements: units of work that processes claim one at a time."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base, enum_column_type
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
    """

    __tablename__ = "Queues"
    __table_args__ = (
        Index("ix_Queues_queue_name_status_created_date", "queue_name", "status", "created_date"),
        Index("ix_Queues_queue_name_created_date", "queue_name", "created_date"),
        Index("ix_Queues_queue_name_reference", "queue_name", "reference"),
        # The Overview: backlog and oldest NEW per queue; elements finished per queue lately.
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

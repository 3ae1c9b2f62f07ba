"""Jobs: one row per process run started by a Scheduler."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base, enum_column_type
from openorch.database.ids import new_id
from openorch.database.rows import shown


class JobStatus(enum.Enum):
    """Where a process run stands. The member name is stored."""

    RUNNING = "Running"
    DONE = "Done"
    FAILED = "Failed"
    KILLED = "Killed"


class JobOutcome(enum.Enum):
    """What a process reported about its run (`report_completion`/`report_failure`)."""

    COMPLETED = "Completed"
    FAILED = "Failed"


class Job(Base):
    """A process run. `trigger_id`, the outcome columns and `correlation_id` are
    openorch's additions (NULL in rows the original wrote, and ignored by it)."""

    __tablename__ = "Jobs"
    __table_args__ = (
        Index("ix_Jobs_start_time", "start_time"),
        Index("ix_Jobs_status", "status"),
        # The Overview's jobs per day, status and failing process read only this index.
        Index("ix_Jobs_start_time_status_process_name", "start_time", "status", "process_name"),
        Index("ix_Jobs_correlation_id", "correlation_id"),
        # The watchdog reads the jobs that ended badly since its last look.
        Index("ix_Jobs_status_end_time", "status", "end_time"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    process_name: Mapped[str] = mapped_column(String(100))
    scheduler_name: Mapped[str] = mapped_column(String(100))
    start_time: Mapped[datetime] = mapped_column(default=datetime.now)
    end_time: Mapped[datetime | None] = mapped_column()
    status: Mapped[JobStatus] = mapped_column(
        enum_column_type(JobStatus), default=JobStatus.RUNNING
    )
    trigger_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    #: The Scheduler run that owns this job (NULL: the original, or started by hand).
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    #: The process the run started, recognisable later by pid and start time (seconds
    #: since the epoch, as psutil reports it): a reused pid has another start time.
    pid: Mapped[int | None] = mapped_column(Integer)
    process_started: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[JobOutcome | None] = mapped_column(enum_column_type(JobOutcome))
    outcome_message: Mapped[str | None] = mapped_column(String(2000))
    outcome_data: Mapped[str | None] = mapped_column(Text)
    outcome_time: Mapped[datetime | None] = mapped_column()
    correlation_id: Mapped[str | None] = mapped_column(String(100))

    def to_row_dict(self) -> dict[str, str]:
        """The original's row for this job (its Jobs table)."""
        return {
            "ID": str(self.id),
            "Process Name": self.process_name,
            "Scheduler": self.scheduler_name,
            "Start Time": shown(self.start_time),
            "End Time": shown(self.end_time),
            "Status": self.status.value,
        }

    def __repr__(self) -> str:
        return f"Job(id={self.id}, process_name={self.process_name!r}, status={self.status.name})"

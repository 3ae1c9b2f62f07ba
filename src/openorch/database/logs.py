"""Logs written by processes (through the SDK) and by Schedulers."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base, enum_column_type
from openorch.database.ids import new_id
from openorch.database.rows import shown


class LogLevel(enum.Enum):
    """Severity of a log row. The member name is stored."""

    TRACE = "Trace"
    INFO = "Info"
    ERROR = "Error"


class Log(Base):
    """One log line. The indexes serve the newest-first views filtered by process or level."""

    __tablename__ = "Logs"
    __table_args__ = (
        Index("ix_Logs_log_time", "log_time"),
        Index("ix_Logs_process_name_log_time", "process_name", "log_time"),
        Index("ix_Logs_log_level_log_time", "log_level", "log_time"),
        Index("ix_Logs_job_id", "job_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    log_time: Mapped[datetime] = mapped_column(default=datetime.now)
    log_level: Mapped[LogLevel] = mapped_column(enum_column_type(LogLevel))
    process_name: Mapped[str] = mapped_column(String(100))
    log_message: Mapped[str] = mapped_column(String(8000))
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    def to_row_dict(self) -> dict[str, object]:
        """The original's row for this log (its Logs table)."""
        return {
            "Log Time": shown(self.log_time),
            "Level": self.log_level.value,
            "Process Name": self.process_name,
            "Message": self.log_message,
            "Short Job ID": str(self.job_id)[:8],
            "Full Job ID": self.job_id,
            "ID": str(self.id),
        }

    def __repr__(self) -> str:
        return f"Log({self.log_time}, {self.log_level.name}, {self.process_name!r})"

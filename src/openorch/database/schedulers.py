"""Schedulers: one row per worker machine, kept fresh by its heartbeat."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base
from openorch.database.rows import shown


class Scheduler(Base):
    """A worker machine and the last trigger it started."""

    __tablename__ = "Schedulers"

    machine_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_update: Mapped[datetime] = mapped_column()
    latest_trigger: Mapped[str | None] = mapped_column(String(100))
    latest_trigger_time: Mapped[datetime | None] = mapped_column()

    def to_row_dict(self) -> dict[str, str]:
        """The original's row for this Scheduler (its Schedulers table)."""
        return {
            "Machine Name": self.machine_name,
            "Last Connection": shown(self.last_update),
            "Latest Trigger": self.latest_trigger if self.latest_trigger else "None yet",
            "Latest Trigger Time": (
                shown(self.latest_trigger_time) if self.latest_trigger_time else ""
            ),
        }

    def __repr__(self) -> str:
        return f"Scheduler({self.machine_name!r}, last_update={self.last_update})"

"""Business calendars: named sets of non-working days that scheduled and queue triggers
may follow (docs/orchestrator.md, "Calendars").

The original OpenOrchestrator never reads these tables; they exist only on databases
upgraded by openorch.
"""

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base
from openorch.database.ids import new_id


class Calendar(Base):
    """A named calendar. `country`/`subdivision`/`years` remember the last holiday fill."""

    __tablename__ = "Calendars"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    country: Mapped[str | None] = mapped_column(String(10))
    subdivision: Mapped[str | None] = mapped_column(String(20))
    years: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(default=datetime.now)

    def __repr__(self) -> str:
        return f"Calendar(id={self.id}, name={self.name!r})"


class CalendarDay(Base):
    """One non-working day of a calendar, typed by hand or filled from `holidays`."""

    __tablename__ = "CalendarDays"

    calendar_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("Calendars.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    description: Mapped[str | None] = mapped_column(String(200))
    #: "manual" (typed) or "holidays" (filled from the holidays package).
    source: Mapped[str] = mapped_column(String(10))

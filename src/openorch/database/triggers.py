"""Triggers: what to run, and when. Joined-table inheritance over `Triggers`."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base, enum_column_type
from openorch.database.ids import new_id
from openorch.database.rows import shown
from openorch.database.types import StringList, parse_names


class TriggerStatus(enum.Enum):
    """Where a trigger stands. The member name is stored."""

    IDLE = "Idle"
    RUNNING = "Running"
    FAILED = "Failed"
    DONE = "Done"
    PAUSED = "Paused"
    PAUSING = "Pausing"
    KILLING = "Killing"
    KILLED = "Killed"


class TriggerType(enum.Enum):
    """The kind of trigger; the discriminator of the inheritance."""

    SINGLE = "Single"
    SCHEDULED = "Scheduled"
    QUEUE = "Queue"


class Trigger(Base):
    """Fields every trigger has. Load through the data layer to get the right subclass."""

    __tablename__ = "Triggers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    trigger_name: Mapped[str] = mapped_column(String(100))
    process_name: Mapped[str] = mapped_column(String(100))
    last_run: Mapped[datetime | None] = mapped_column()
    process_path: Mapped[str] = mapped_column(String(250))
    process_args: Mapped[str | None] = mapped_column(String(1000))
    process_status: Mapped[TriggerStatus] = mapped_column(
        enum_column_type(TriggerStatus), default=TriggerStatus.IDLE
    )
    is_git_repo: Mapped[bool] = mapped_column()
    git_branch: Mapped[str | None] = mapped_column(String(100))
    is_blocking: Mapped[bool] = mapped_column()
    #: Scheduler names as a list (JSON text in the column, as in the original); None or
    #: [] mean any Scheduler.
    scheduler_whitelist: Mapped[list[str] | None] = mapped_column(StringList(250))
    priority: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    #: After a failure, a Scheduled or Queue trigger goes back to IDLE instead of staying
    #: FAILED. NULL (every row the original writes) means False: stop, as 3.0.0 does.
    keep_running_after_failure: Mapped[bool | None] = mapped_column()
    type: Mapped[TriggerType] = mapped_column(enum_column_type(TriggerType))

    __mapper_args__ = {"polymorphic_on": "type"}

    @property
    def whitelist(self) -> list[str]:
        """The scheduler whitelist as a list of names (empty when none is set)."""
        value = self.scheduler_whitelist
        if isinstance(value, str):  # assigned as text on an object not yet saved
            return parse_names(value)
        return [str(name) for name in value or [] if str(name).strip()]

    def to_row_dict(self) -> dict[str, str]:
        """The original's row for this trigger (its Triggers table)."""
        return {
            "Trigger Name": self.trigger_name,
            "Type": self.type.value,
            "Status": self.process_status.value,
            "Process Name": self.process_name,
            "Last Run": shown(self.last_run, "Never"),
            "ID": str(self.id),
            "Priority": str(self.priority),
            "Next Run": self._next_run_shown(),
        }

    def _next_run_shown(self) -> str:
        next_run = getattr(self, "next_run", None)
        return "N/A" if next_run is None else shown(next_run)

    @property
    def keeps_running_after_failure(self) -> bool:
        """The after-a-failure choice with NULL read as "stop"."""
        return bool(self.keep_running_after_failure)

    def __repr__(self) -> str:
        # OpenOrchestrator 3.0.0's text ('nightly: Scheduled'): log lines and scripts
        # that match text see it.
        kind = self.type.value if isinstance(self.type, TriggerType) else self.type
        return f"{self.trigger_name}: {kind}"


class SingleTrigger(Trigger):
    """Runs once at `next_run`."""

    __tablename__ = "Single_Triggers"
    __mapper_args__ = {"polymorphic_identity": TriggerType.SINGLE, "polymorphic_load": "inline"}

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("Triggers.id"), primary_key=True)
    next_run: Mapped[datetime] = mapped_column()


class ScheduledTrigger(Trigger):
    """Runs at every time its 5-field cron expression names."""

    __tablename__ = "Scheduled_Triggers"
    __mapper_args__ = {"polymorphic_identity": TriggerType.SCHEDULED, "polymorphic_load": "inline"}

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("Triggers.id"), primary_key=True)
    cron_expr: Mapped[str] = mapped_column(String(200))
    next_run: Mapped[datetime] = mapped_column()
    #: IANA zone the cron is read in; NULL (every row the original writes): the computing
    #: machine's local time, as in the original.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    #: The business calendar (Calendars.id) and what to do on its days (CalendarRule name:
    #: SKIP, MOVE, WORKING_DAYS). NULL: no calendar.
    calendar_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    calendar_rule: Mapped[str | None] = mapped_column(String(12))


class QueueTrigger(Trigger):
    """Runs when its queue holds at least `min_batch_size` NEW elements."""

    __tablename__ = "Queue_Triggers"
    __mapper_args__ = {"polymorphic_identity": TriggerType.QUEUE, "polymorphic_load": "inline"}

    id: Mapped[uuid.UUID] = mapped_column(ForeignKey("Triggers.id"), primary_key=True)
    queue_name: Mapped[str] = mapped_column(String(200))
    min_batch_size: Mapped[int] = mapped_column()
    #: A time window ("HH:MM" each, in `time_zone`; NULL: any time): the trigger starts
    #: only from `window_start` until `window_end`, and only on working days (Mon–Fri not
    #: in `calendar_id`) when a calendar is set. NULL everywhere: the original's behaviour.
    window_start: Mapped[str | None] = mapped_column(String(5))
    window_end: Mapped[str | None] = mapped_column(String(5))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    calendar_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

"""Schedulers: one row per worker machine, kept fresh by its heartbeat."""

import uuid
from datetime import datetime

from sqlalchemy import Float, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base
from openorch.database.rows import shown


class Scheduler(Base):
    """A worker (one name), the run that owns it now, and the last trigger it started.

    `last_update` is written with the database's clock by openorch (the original writes
    its own clock).
    """

    __tablename__ = "Schedulers"

    machine_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_update: Mapped[datetime] = mapped_column()
    latest_trigger: Mapped[str | None] = mapped_column(String(100))
    latest_trigger_time: Mapped[datetime | None] = mapped_column()
    # openorch's additions (NULL in rows the original wrote; it never reads them):
    #: The run that owns this name now; a fresh id each time a Scheduler starts.
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    #: When that run registered, by the database's clock.
    run_started: Mapped[datetime | None] = mapped_column()
    #: Seconds of silence after which this run counts as dead (its own setting).
    heartbeat_timeout: Mapped[float | None] = mapped_column(Float)
    #: The robot's clock minus the database's, in seconds, as last measured.
    clock_offset: Mapped[float | None] = mapped_column(Float)
    #: running, paused, stopping or stopped (`openorch.store.runs.schedulers.EngineState`).
    engine_state: Mapped[str | None] = mapped_column(String(20))
    #: The machine that run is on, and its process id there (one name, one Scheduler:
    #: a new run is refused while this one is alive; `openorch.store.runs.schedulers`).
    run_host: Mapped[str | None] = mapped_column(String(255))
    run_pid: Mapped[int | None] = mapped_column(Integer)

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

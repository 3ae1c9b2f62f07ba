"""Scheduler heartbeats."""

from datetime import datetime

from sqlalchemy import exc, select, update
from sqlalchemy.orm import Session

from openorch.database import Scheduler
from openorch.database.base import table_of
from openorch.store import validation as v
from openorch.store.core import StoreCore

_SCHEDULERS = table_of(Scheduler)


class SchedulerStore(StoreCore):
    """The Schedulers table: who is alive, and what they started last."""

    def get_schedulers(self) -> tuple[Scheduler, ...]:
        """Every Scheduler that ever sent a heartbeat, sorted by machine name."""
        return self._read(
            lambda session: tuple(
                session.scalars(select(Scheduler).order_by(Scheduler.machine_name))
            )
        )

    def send_ping_from_scheduler(self, machine_name: str) -> None:
        """Record a heartbeat now (insert the row the first time).

        Raises:
            ValueError: bad machine name.
        """
        self._upsert(machine_name, {"last_update": datetime.now()})

    def start_trigger_from_machine(self, machine_name: str, trigger_name: str) -> None:
        """Record that `machine_name` started `trigger_name` now.

        Raises:
            ValueError: bad names.
        """
        v.check_text(Scheduler, "latest_trigger", trigger_name, label="trigger_name")
        moment = datetime.now()
        self._upsert(
            machine_name,
            {"last_update": moment, "latest_trigger": trigger_name, "latest_trigger_time": moment},
        )

    def _upsert(self, machine_name: str, values: dict[str, object]) -> None:
        name = v.check_text(Scheduler, "machine_name", machine_name)

        def work(session: Session) -> None:
            result = session.execute(
                update(_SCHEDULERS).where(_SCHEDULERS.c.machine_name == name).values(**values)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                session.add(Scheduler(machine_name=name, **values))

        try:
            self._write(work)
        except exc.IntegrityError:
            # Two processes with one machine name inserted at once: the row exists now.
            self._write(work)

"""Schedulers: every worker machine and when it was last heard from."""

from datetime import datetime, timedelta
from typing import Any

from nicegui import ui

from openorch.database import Scheduler
from openorch.orchestrator.common import fmt, off_loop, tid
from openorch.orchestrator.connection import Connection
from openorch.orchestrator.widgets import quiet_no_data

#: A Scheduler silent for longer than this shows its Last Connection in red.
STALE_AFTER = timedelta(minutes=1)

COLUMNS: list[dict[str, Any]] = [
    {"name": "machine_name", "label": "Machine Name", "field": "machine_name", "align": "left",
     "sortable": True},
    {"name": "last_update", "label": "Last Connection", "field": "last_update", "align": "left"},
    {"name": "latest_trigger", "label": "Latest Trigger", "field": "latest_trigger",
     "align": "left"},
    {"name": "latest_trigger_time", "label": "Latest Trigger Time",
     "field": "latest_trigger_time", "align": "left"},
]


def scheduler_row(scheduler: Scheduler, now: datetime) -> dict[str, Any]:
    """One row; `stale` marks a Scheduler silent for more than a minute."""
    return {
        "id": scheduler.machine_name,
        "machine_name": scheduler.machine_name,
        "last_update": fmt(scheduler.last_update),
        "stale": bool(scheduler.last_update is None or now - scheduler.last_update > STALE_AFTER),
        "latest_trigger": scheduler.latest_trigger or "None yet",
        "latest_trigger_time": fmt(scheduler.latest_trigger_time),
    }


class SchedulersTab:
    """The Schedulers panel."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.table = tid(
            ui.table(columns=COLUMNS, rows=[], row_key="id",
                     pagination={"rowsPerPage": 50}, title="Schedulers").classes("w-full"),
            "schedulers_table",
        )
        quiet_no_data(self.table, "No Scheduler has connected to this database yet.")
        self.table.add_slot("body-cell-last_update", """
            <q-td :props="props" :class="props.row.stale ? 'text-negative text-bold' : ''">
                {{ props.value }}
            </q-td>
        """)

    async def refresh(self) -> None:
        """Load every Scheduler again."""
        schedulers = await off_loop(self.connection.store.get_schedulers)
        now = datetime.now()
        self.table.rows = [scheduler_row(scheduler, now) for scheduler in schedulers]
        self.table.update()


"""Schedulers: every worker, whether it is alive, what it is doing, and its clock.

Alive or not is the data layer's one liveness rule (`store.schedulers.is_alive`, judged
with the database's clock), the same rule every Scheduler's reaper applies.
"""

from typing import Any

from nicegui import ui

from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import fmt, off_loop, tid
from openorch.orchestrator.widgets import quiet_no_data
from openorch.store.runs.schedulers import SchedulerHealth

COLUMNS: list[dict[str, Any]] = [
    {
        "name": "machine_name",
        "label": "Machine Name",
        "field": "machine_name",
        "align": "left",
        "sortable": True,
    },
    {"name": "state", "label": "State", "field": "state", "align": "left"},
    {"name": "runs_on", "label": "Runs On", "field": "runs_on", "align": "left"},
    {"name": "last_update", "label": "Last Connection", "field": "last_update", "align": "left"},
    {"name": "clock", "label": "Clock", "field": "clock", "align": "left"},
    {
        "name": "latest_trigger",
        "label": "Latest Trigger",
        "field": "latest_trigger",
        "align": "left",
    },
    {
        "name": "latest_trigger_time",
        "label": "Latest Trigger Time",
        "field": "latest_trigger_time",
        "align": "left",
    },
]


def describe_offset(seconds: float | None) -> str:
    """'4 min 59 s behind the database' for an offset worth showing; '' otherwise."""
    if seconds is None:
        return ""
    whole = round(abs(seconds))
    minutes, rest = divmod(whole, 60)
    amount = f"{minutes} min {rest} s" if minutes else f"{rest} s"
    return f"{amount} {'ahead of' if seconds > 0 else 'behind'} the database"


def runs_on(host: str | None, pid: int | None) -> str:
    """'rpa-07, pid 4711': where the run holding the name is ('' when not recorded)."""
    if host is None:
        return ""
    return f"{host}, pid {pid}" if pid is not None else host


def scheduler_row(health: SchedulerHealth) -> dict[str, Any]:
    """One row; `stale` marks a Scheduler the liveness rule calls dead (unless it said
    it stopped)."""
    scheduler = health.scheduler
    stopped = scheduler.engine_state == "stopped"
    if stopped:
        state = "stopped"
    else:
        state = (scheduler.engine_state or "running") if health.alive else "not responding"
    return {
        "id": scheduler.machine_name,
        "machine_name": scheduler.machine_name,
        "state": state,
        "runs_on": runs_on(scheduler.run_host, scheduler.run_pid),
        "last_update": fmt(scheduler.last_update),
        "stale": not health.alive and not stopped,
        "clock": describe_offset(health.notable_clock_offset),
        "latest_trigger": scheduler.latest_trigger or "None yet",
        "latest_trigger_time": fmt(scheduler.latest_trigger_time),
    }


class SchedulersTab:
    """The Schedulers panel."""

    def __init__(self, client_store: ClientStore) -> None:
        self.client_store = client_store
        self.table = tid(
            ui.table(
                columns=COLUMNS,
                rows=[],
                row_key="id",
                pagination={"rowsPerPage": 50},
                title="Schedulers",
            ).classes("w-full"),
            "schedulers_table",
        )
        quiet_no_data(self.table, "No Scheduler has connected to this database yet.")
        self.table.add_slot(
            "body-cell-last_update",
            """
            <q-td :props="props" :class="props.row.stale ? 'text-negative text-bold' : ''">
                {{ props.value }}
            </q-td>
        """,
        )
        self.table.add_slot(
            "body-cell-clock",
            """
            <q-td :props="props" :class="props.value ? 'text-warning text-bold' : ''">
                {{ props.value }}
            </q-td>
        """,
        )

    async def refresh(self) -> None:
        """Load every Scheduler again, judged by the data layer's liveness rule."""
        health = await off_loop(self.client_store.store.get_scheduler_health)
        self.table.rows = [scheduler_row(item) for item in health]
        self.table.update()

"""Triggers: the New buttons and one table of every trigger (50 rows a page).

A thousand triggers are a few hundred kilobytes of rows, so this table pages in the
browser; logs, jobs and queue elements, which grow without bound, page on the server.
"""

from datetime import datetime, timedelta
from typing import Any

from nicegui import ui

from openorch.database import (
    QueueTrigger,
    ScheduledTrigger,
    SingleTrigger,
    Trigger,
    TriggerStatus,
    TriggerType,
)
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import fmt, guarded, off_loop, shown_if, tid
from openorch.orchestrator.popups.calendar_popup import CalendarPopup
from openorch.orchestrator.popups.trigger_popup import TriggerPopup
from openorch.orchestrator.widgets import paged, quiet_no_data, status_badge_slot, status_color
from openorch.roles import ADMINISTER
from openorch.store.runs.schedule import NO_NEXT_RUN

COLUMNS: list[dict[str, Any]] = [
    {
        "name": "trigger_name",
        "label": "Trigger Name",
        "field": "trigger_name",
        "align": "left",
        "sortable": True,
    },
    {
        "name": "priority",
        "label": "Priority",
        "field": "priority",
        "align": "left",
        "sortable": True,
    },
    {"name": "type", "label": "Type", "field": "type", "align": "left", "sortable": True},
    {"name": "status", "label": "Status", "field": "status", "align": "left", "sortable": True},
    {
        "name": "process_name",
        "label": "Process Name",
        "field": "process_name",
        "align": "left",
        "sortable": True,
    },
    {"name": "last_run", "label": "Last Run", "field": "last_run", "align": "left"},
    {"name": "next_run", "label": "Next Run", "field": "next_run", "align": "left"},
    {"name": "id", "label": "ID", "field": "id", "align": "left"},
]


#: How late a due trigger may be before it is flagged Overdue: a Scheduler picks it up at
#: its next poll (openorch's every 2 s, the original's every 6 s), so a trigger saved to
#: run "now" is not overdue the moment it is saved. Never under 5 s.
OVERDUE_GRACE = timedelta(seconds=max(5.0, 6.0 + 4.0))

#: Statuses in which a single trigger will not run again until enabled: it has no next run.
_SINGLE_WITHOUT_NEXT_RUN = (
    TriggerStatus.RUNNING,
    TriggerStatus.DONE,
    TriggerStatus.FAILED,
    TriggerStatus.KILLED,
    TriggerStatus.KILLING,
)


def is_overdue(trigger: Trigger, now: datetime) -> bool:
    """Due and not started: an Idle single or scheduled trigger whose time passed more
    than `OVERDUE_GRACE` ago (a Scheduler had at least one poll to start it).

    A running, done, failed, killed or paused trigger is not waiting for a Scheduler, so
    a past Next Run says nothing wrong about it.
    """
    next_run = trigger.next_run if isinstance(trigger, SingleTrigger | ScheduledTrigger) else None
    return bool(
        next_run is not None
        and next_run < now - OVERDUE_GRACE
        and trigger.process_status == TriggerStatus.IDLE
    )


def next_run_text(trigger: Trigger) -> str:
    """What the Next Run column says: "N/A" for a queue trigger, "None" for a single
    trigger that ran (or runs) and will not run again until enabled, why there is none
    when the calendar leaves no run, else the time."""
    if isinstance(trigger, QueueTrigger):
        return "N/A"
    if isinstance(trigger, SingleTrigger) and trigger.process_status in _SINGLE_WITHOUT_NEXT_RUN:
        return "None"
    next_run = trigger.next_run if isinstance(trigger, SingleTrigger | ScheduledTrigger) else None
    if next_run is not None and next_run >= NO_NEXT_RUN:
        return "None: the calendar leaves no run"
    return fmt(next_run)


def trigger_row(trigger: Trigger, now: datetime) -> dict[str, Any]:
    """One table row for a trigger."""
    status = trigger.process_status.value
    return {
        "id": str(trigger.id),
        "trigger_name": trigger.trigger_name,
        "priority": trigger.priority,
        "type": trigger.type.value,
        "status": status,
        "status_color": status_color(status),
        "process_name": trigger.process_name,
        "last_run": fmt(trigger.last_run, "Never"),
        "next_run": next_run_text(trigger),
        "overdue": is_overdue(trigger, now),
    }


def trigger_rows(
    triggers: tuple[Trigger, ...], now: datetime | None = None
) -> list[dict[str, Any]]:
    """Rows for every trigger, in the order given (the data layer sorts by name)."""
    moment = now or datetime.now()
    return [trigger_row(trigger, moment) for trigger in triggers]


class TriggersTab:
    """The Triggers panel."""

    def __init__(self, client_store: ClientStore) -> None:
        self.client_store = client_store
        with shown_if(ui.row(), client_store.identity, ADMINISTER):
            tid(
                ui.button(
                    "New Single Trigger",
                    icon="add",
                    on_click=guarded(lambda: self.open_new(TriggerType.SINGLE)),
                ),
                "trigger_new_single_button",
            )
            tid(
                ui.button(
                    "New Scheduled Trigger",
                    icon="add",
                    on_click=guarded(lambda: self.open_new(TriggerType.SCHEDULED)),
                ),
                "trigger_new_scheduled_button",
            )
            tid(
                ui.button(
                    "New Queue Trigger",
                    icon="add",
                    on_click=guarded(lambda: self.open_new(TriggerType.QUEUE)),
                ),
                "trigger_new_queue_button",
            )
            tid(
                ui.button("Calendars", icon="event_busy", on_click=guarded(self.open_calendars)),
                "trigger_calendars_button",
            )
        self.search_input = tid(
            ui.input("Search").props("clearable dense").classes("w-64"), "trigger_search_input"
        )
        self.table = tid(
            ui.table(
                columns=COLUMNS,
                rows=[],
                row_key="id",
                pagination={"rowsPerPage": 50, "sortBy": None},
                title="Triggers",
            ).classes("w-full"),
            "trigger_table",
        )
        self.table.bind_filter_from(self.search_input, "value")
        paged(self.table)
        quiet_no_data(self.table, "No triggers yet: create one with the buttons above.")
        status_badge_slot(self.table, "status")
        self.table.add_slot(
            "body-cell-next_run",
            """
            <q-td :props="props">
                {{ props.value }}
                <q-badge v-if="props.row.overdue" color="negative" label="Overdue"
                         class="q-ml-sm" />
            </q-td>
        """,
        )
        self.table.on("row-click", guarded(lambda e: self.open_existing(e.args[1]["id"])))

    async def refresh(self) -> None:
        """Load every trigger again."""
        self.table.props("loading")
        try:
            triggers = await off_loop(self.client_store.store.get_all_triggers)
            self.table.rows = trigger_rows(triggers)
            self.table.update()
        finally:
            self.table.props(remove="loading")

    def open_calendars(self) -> CalendarPopup:
        """Open the calendars (non-working days) popup."""
        return CalendarPopup(self.client_store)

    def open_new(self, trigger_type: TriggerType) -> TriggerPopup:
        """Open the (persistent) popup for a new trigger of this kind."""
        return TriggerPopup(self.client_store, trigger_type, None, self.refresh)

    async def open_existing(self, trigger_id: str) -> TriggerPopup:
        """Open the edit popup of the clicked trigger (fresh from the database)."""
        trigger = await off_loop(self.client_store.store.get_trigger, trigger_id)
        return TriggerPopup(self.client_store, trigger.type, trigger, self.refresh)

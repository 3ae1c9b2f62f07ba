"""Queues: one row per queue with its counts per status, the age of its oldest NEW
element, how many elements are past their deadline and its description; a click opens
its elements, and each queue's settings are edited from there (or from "Queue settings"
for a queue that has no element yet)."""

from datetime import datetime
from typing import Any

from nicegui import ui

from openorch.database import QueueStatus
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import guarded, off_loop, tid
from openorch.orchestrator.popups.queue_dialog import QueueDialog
from openorch.orchestrator.popups.queue_element_popup import QueueElementPopup
from openorch.orchestrator.popups.queue_settings_popup import QueueSettingsPopup
from openorch.orchestrator.widgets import paged, quiet_no_data
from openorch.store import QueueOverview
from openorch.store.queues.messages import describe_duration

COLUMNS: list[dict[str, Any]] = [
    {
        "name": "queue_name",
        "label": "Queue Name",
        "field": "queue_name",
        "align": "left",
        "sortable": True,
    },
    *(
        {
            "name": status.name.lower(),
            "label": status.value,
            "field": status.name.lower(),
            "align": "left",
            "sortable": True,
        }
        for status in QueueStatus
    ),
    {"name": "oldest_new", "label": "Oldest New", "field": "oldest_new", "align": "left"},
    {
        "name": "past_deadline",
        "label": "Past Deadline",
        "field": "past_deadline",
        "align": "left",
        "sortable": True,
    },
    {"name": "description", "label": "Description", "field": "description", "align": "left"},
]


def queue_rows(counts: dict[str, dict[QueueStatus, int]]) -> list[dict[str, Any]]:
    """One row per queue: its name and the number of elements in each status."""
    return [
        {
            "id": name,
            "queue_name": name,
            **{status.name.lower(): per_status.get(status, 0) for status in QueueStatus},
        }
        for name, per_status in counts.items()
    ]


def overview_rows(lines: list[QueueOverview], now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per queue: counts, the age of the oldest NEW element ("" when none), the
    number of NEW/IN_PROGRESS elements past their deadline, and the description."""
    moment = now or datetime.now()
    rows = queue_rows({line.queue_name: line.counts for line in lines})
    for row, line in zip(rows, lines, strict=True):
        row["oldest_new"] = describe_duration(moment - line.oldest_new) if line.oldest_new else ""
        row["past_deadline"] = line.past_deadline
        row["description"] = (line.settings.description or "") if line.settings else ""
    return rows


class QueuesTab:
    """The Queues panel."""

    def __init__(self, client_store: ClientStore) -> None:
        self.client_store = client_store
        with ui.row().classes("w-full"):
            tid(
                ui.button("New Queue", icon="add", on_click=guarded(self.new_queue)),
                "queue_new_button",
            )
            ui.space()
            tid(
                ui.button("Queue settings", icon="settings", on_click=guarded(self.new_settings)),
                "queues_settings_button",
            ).tooltip("Configure a queue by name")
        self.table = tid(
            ui.table(
                columns=COLUMNS,
                rows=[],
                row_key="id",
                pagination={"rowsPerPage": 50},
                title="Queues",
            ).classes("w-full"),
            "queues_table",
        )
        paged(self.table)
        quiet_no_data(self.table, "No queues yet: New Queue adds one with its first element.")
        self.table.on("row-click", guarded(lambda e: self.open_queue(e.args[1]["queue_name"])))

    async def refresh(self) -> None:
        """Read every queue's counts and figures again."""
        self.table.props("loading")
        try:
            lines = await off_loop(self.client_store.store.get_queue_overview)
            self.table.rows = overview_rows(lines)
            self.table.update()
        finally:
            self.table.props(remove="loading")

    def new_queue(self) -> QueueElementPopup:
        """Ask for a queue name and its first element (a queue exists by its elements)."""
        return QueueElementPopup(self.client_store, None, None, self.refresh)

    async def open_queue(self, queue_name: str, status: str | None = None) -> QueueDialog:
        """Open the full-screen element dialog of a queue (filtered to `status`)."""
        dialog = QueueDialog(self.client_store, queue_name, on_close=self.refresh, status=status)
        await dialog.refresh()
        return dialog

    def new_settings(self) -> QueueSettingsPopup:
        """Settings for a queue named in the popup (it may have no element yet)."""
        return QueueSettingsPopup(self.client_store, None, on_change=self.refresh)

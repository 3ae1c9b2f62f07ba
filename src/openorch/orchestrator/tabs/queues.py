"""Queues: one row per queue with its counts per status; a click opens its elements."""

from typing import Any

from nicegui import ui

from openorch.database import QueueStatus
from openorch.orchestrator.common import guarded, off_loop, tid
from openorch.orchestrator.connection import Connection
from openorch.orchestrator.popups.queue_dialog import QueueDialog
from openorch.orchestrator.popups.queue_element_popup import QueueElementPopup
from openorch.orchestrator.widgets import paged, quiet_no_data

COLUMNS: list[dict[str, Any]] = [
    {"name": "queue_name", "label": "Queue Name", "field": "queue_name", "align": "left",
     "sortable": True},
    *(
        {"name": status.name.lower(), "label": status.value, "field": status.name.lower(),
         "align": "left", "sortable": True}
        for status in QueueStatus
    ),
]


def queue_rows(counts: dict[str, dict[QueueStatus, int]]) -> list[dict[str, Any]]:
    """One row per queue: its name and the number of elements in each status."""
    return [
        {"id": name, "queue_name": name,
         **{status.name.lower(): per_status.get(status, 0) for status in QueueStatus}}
        for name, per_status in counts.items()
    ]


class QueuesTab:
    """The Queues panel."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        tid(ui.button("New Queue", icon="add", on_click=guarded(self.new_queue)),
            "queue_new_button")
        self.table = tid(
            ui.table(columns=COLUMNS, rows=[], row_key="id",
                     pagination={"rowsPerPage": 50}, title="Queues").classes("w-full"),
            "queues_table",
        )
        paged(self.table)
        quiet_no_data(self.table, "No queues yet: New Queue adds one with its first element.")
        self.table.on("row-click", guarded(lambda e: self.open_queue(e.args[1]["queue_name"])))

    async def refresh(self) -> None:
        """Count the elements of every queue again."""
        self.table.props("loading")
        try:
            counts = await off_loop(self.connection.store.get_queue_count)
            self.table.rows = queue_rows(counts)
            self.table.update()
        finally:
            self.table.props(remove="loading")

    def new_queue(self) -> QueueElementPopup:
        """Ask for a queue name and its first element (a queue exists by its elements)."""
        return QueueElementPopup(self.connection, None, None, self.refresh)

    async def open_queue(self, queue_name: str, status: str | None = None) -> QueueDialog:
        """Open the full-screen element dialog of a queue (filtered to `status`)."""
        dialog = QueueDialog(self.connection, queue_name, on_close=self.refresh, status=status)
        await dialog.refresh()
        return dialog

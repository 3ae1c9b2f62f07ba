"""The full-screen dialog of one queue's elements: search, filters, dense switch, column
chooser and a table paged and sorted by the database (fit for a million elements)."""

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from openorch.database import QueueElement, QueueStatus
from openorch.orchestrator.common import ALL, cut, fmt, guarded, tid
from openorch.orchestrator.connection import Connection
from openorch.orchestrator.popups.generic import forget_on_close
from openorch.orchestrator.popups.queue_element_popup import QueueElementPopup
from openorch.orchestrator.widgets import (
    DatetimeInput,
    Page,
    ServerTable,
    status_badge_slot,
    status_color,
)

COLUMNS: list[dict[str, Any]] = [
    {"name": name, "label": label, "field": name, "align": "left", "sortable": True,
     **({"style": "white-space: normal; max-width: 30rem"} if name in ("data", "message") else {})}
    for name, label in (
        ("reference", "Reference"),
        ("status", "Status"),
        ("data", "Data"),
        ("message", "Message"),
        ("created_date", "Created Date"),
        ("start_date", "Start Date"),
        ("end_date", "End Date"),
        ("created_by", "Created By"),
        ("id", "ID"),
    )
]


def element_row(element: QueueElement) -> dict[str, Any]:
    """One table row: data and message cut short (the popup shows them whole)."""
    return {
        "id": str(element.id),
        "reference": element.reference or "",
        "status": element.status.value,
        "status_color": status_color(element.status.value),
        "data": cut(element.data, 100),
        "message": cut(element.message, 100),
        "created_date": fmt(element.created_date),
        "start_date": fmt(element.start_date),
        "end_date": fmt(element.end_date),
        "created_by": element.created_by or "",
    }


class QueueDialog:
    """A maximized dialog over one queue. Test ids start with `queue_dialog_`."""

    def __init__(self, connection: Connection, queue_name: str,
                 on_close: Callable[[], Awaitable[None]] | None = None,
                 status: str | None = None) -> None:
        self.connection = connection
        self.queue_name = queue_name
        self.on_close = on_close
        on_filter = guarded(self.filter_changed)
        with tid(ui.dialog(value=True).props("maximized"), "queue_dialog") as self.dialog, \
                ui.card().classes("w-full"):
            with ui.row().classes("w-full items-center"):
                ui.label(f"Queue: {queue_name}").classes("text-xl")
                ui.space()
                tid(ui.button("New element", icon="add", on_click=guarded(self.new_element)),
                    "queue_dialog_new_button")
                tid(ui.button(icon="refresh", on_click=guarded(self.refresh)),
                    "queue_dialog_refresh_button").tooltip("Refresh")
                tid(ui.button(icon="close", on_click=guarded(self.close)),
                    "queue_dialog_close_button").tooltip("Close")
            with ui.row().classes("w-full items-start gap-4"):
                self.search_input = tid(
                    ui.input("Search (reference prefix, or text in data or message)",
                             on_change=on_filter).props("clearable debounce=400").classes("w-80"),
                    "queue_dialog_search_input",
                )
                self.status_select = tid(
                    ui.select([ALL] + [each.value for each in QueueStatus], value=status or ALL,
                              label="Status", on_change=on_filter).classes("w-40"),
                    "queue_dialog_status_select",
                )
                self.from_input = DatetimeInput("From", "queue_dialog_from", on_change=on_filter)
                self.to_input = DatetimeInput("To", "queue_dialog_to", on_change=on_filter)
                self.dense_switch = tid(ui.switch("Dense", on_change=self._dense_changed),
                                        "queue_dialog_dense_switch")
                with tid(ui.button("Columns", icon="view_column"),
                         "queue_dialog_columns_button"), ui.menu(), ui.column().classes("q-pa-sm"):
                    self.column_checks = {
                        column["name"]: tid(
                            ui.checkbox(column["label"], value=True,
                                        on_change=self._columns_changed),
                            f"queue_dialog_column_{column['name']}",
                        )
                        for column in COLUMNS
                    }
            self.server = ServerTable(COLUMNS, self.fetch, "queue_dialog_table",
                                      title=f"Elements of {queue_name}",
                                      rows_per_page=50, sort_by="created_date", descending=True,
                                      on_row_click=self.open_element)
            status_badge_slot(self.server.table, "status")
        forget_on_close(self.dialog)

    def fetch(self, page: Page) -> tuple[list[dict[str, Any]], int]:
        """One page of elements (runs in a worker thread)."""
        status = self.status_select.value
        elements, total = self.connection.store.get_queue_elements(
            self.queue_name,
            status=None if status in (None, ALL) else str(status),
            from_date=self.from_input.get_datetime(),
            to_date=self.to_input.get_datetime(),
            offset=page.offset,
            limit=page.limit,
            search_term=(self.search_input.value or "").strip() or None,
            order_by=page.sort_by or "created_date",
            order_desc=page.descending,
            include_count=True,
        )
        return [element_row(element) for element in elements], total

    async def refresh(self) -> None:
        """Fetch the current page again."""
        await self.server.refresh()

    async def filter_changed(self) -> None:
        """A filter changed: back to the first page."""
        self.server.first_page()
        await self.server.refresh()

    def _dense_changed(self) -> None:
        if self.dense_switch.value:
            self.server.table.props("dense")
        else:
            self.server.table.props(remove="dense")

    def _columns_changed(self) -> None:
        self.server.table.props["visible-columns"] = [
            name for name, check in self.column_checks.items() if check.value
        ]

    async def open_element(self, row: dict[str, Any]) -> QueueElementPopup:
        """Open the clicked element, read fresh from the database."""
        from openorch.orchestrator.common import off_loop

        element = await off_loop(self.connection.store.get_queue_element, row["id"])
        return QueueElementPopup(self.connection, self.queue_name, element, self.refresh)

    def new_element(self) -> QueueElementPopup:
        """Open an empty element popup that adds to this queue."""
        return QueueElementPopup(self.connection, self.queue_name, None, self.refresh)

    async def close(self) -> None:
        """Close the dialog and refresh the queue counts behind it."""
        self.dialog.close()
        if self.on_close is not None:
            await self.on_close()

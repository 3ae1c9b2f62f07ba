"""The full-screen dialog of one queue's elements: search, filters, dense switch, column
chooser and a table paged and sorted by the database (fit for a million elements)."""

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from nicegui import ui

from openorch.database import QueueElement, QueueStatus
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import (
    ALL,
    attempts_made,
    cut,
    fmt,
    guarded,
    notify_result,
    off_loop,
    short_id,
    tid,
)
from openorch.orchestrator.popups.generic import forget_on_close, question_popup
from openorch.orchestrator.popups.queue_element_popup import QueueElementPopup
from openorch.orchestrator.popups.queue_settings_popup import QueueSettingsPopup
from openorch.orchestrator.who import current_identity
from openorch.orchestrator.widgets import (
    DatetimeInput,
    Page,
    ServerTable,
    status_badge_slot,
    status_color,
)
from openorch.store.queues.messages import describe_duration

#: The "in progress longer than" filter's choices.
IN_PROGRESS_LONGER = {
    "Any time": None,
    "5 minutes": timedelta(minutes=5),
    "30 minutes": timedelta(minutes=30),
    "1 hour": timedelta(hours=1),
    "4 hours": timedelta(hours=4),
    "24 hours": timedelta(hours=24),
}

#: Bulk actions on the filtered elements: (button label, verb in the question, done text).
BULK_ACTIONS = {
    "retry": ("Retry filtered", "Set back to NEW", "set back to NEW"),
    "abandon": ("Abandon filtered", "Abandon", "abandoned"),
    "delete": ("Delete filtered", "Delete", "deleted"),
}

#: Long cells stay on one line, cut with "…" at this width; hovering shows the whole
#: text and the element popup shows it all. (At 1400 px Data wrapped to four lines and
#: pushed Job and ID off-screen.)
_ONE_LINE = "white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: {}; "

#: Half Quasar's side padding, in every cell: thirteen columns fit 1400 px.
_PADDING = "padding-left: 8px; padding-right: 8px"
_CELL_WIDTHS = {"data": "12rem", "message": "9rem", "reference": "10rem", "created_by": "8rem"}

#: Columns shown shortened, with the whole value in a hover title (`<name>_full`).
_HOVER_COLUMNS = ("reference", "data", "message", "created_by", "job_id", "id")

#: Columns whose shown value is another row field than their name (ids: their end).
_SHOWN_FIELD = {"job_id": "job_id_short", "id": "id_short"}

COLUMNS: list[dict[str, Any]] = [
    {
        "name": name,
        "label": label,
        "field": _SHOWN_FIELD.get(name, name),
        "align": "left",
        "sortable": True,
        "style": (_ONE_LINE.format(_CELL_WIDTHS[name]) if name in _CELL_WIDTHS else "") + _PADDING,
        "headerStyle": _PADDING,
    }
    for name, label in (
        ("reference", "Reference"),
        ("status", "Status"),
        ("data", "Data"),
        ("message", "Message"),
        ("created_date", "Created Date"),
        ("start_date", "Start Date"),
        ("end_date", "End Date"),
        ("created_by", "Created By"),
        ("attempts", "Attempts"),
        ("deadline", "Deadline"),
        ("in_progress_for", "In Progress For"),
        ("job_id", "Job"),
        ("id", "ID"),
    )
]

#: Columns the database cannot sort by (computed, or not worth an index).
for _column in COLUMNS:
    if _column["name"] in ("in_progress_for", "job_id"):
        _column["sortable"] = False


#: How much of a long value a hover title carries (the popup shows it all).
_HOVER_CHARS = 1000


def element_row(element: QueueElement, now: datetime | None = None) -> dict[str, Any]:
    """One table row: data and message cut short, ids shown by their end, each with its
    whole value for the hover title (the popup shows them whole)."""
    in_progress_for = ""
    if element.status is QueueStatus.IN_PROGRESS and element.start_date is not None:
        in_progress_for = describe_duration((now or datetime.now()) - element.start_date)
    return {
        "attempts": attempts_made(element),
        "deadline": fmt(element.deadline),
        "in_progress_for": in_progress_for,
        "job_id": str(element.job_id) if element.job_id else "",
        "job_id_short": short_id(element.job_id),
        "job_id_full": str(element.job_id) if element.job_id else "",
        "id": str(element.id),
        "id_short": short_id(element.id),
        "id_full": str(element.id),
        "reference_full": element.reference or "",
        "data_full": cut(element.data, _HOVER_CHARS),
        "message_full": cut(element.message, _HOVER_CHARS),
        "created_by_full": element.created_by or "",
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

    def __init__(
        self,
        client_store: ClientStore,
        queue_name: str,
        on_close: Callable[[], Awaitable[None]] | None = None,
        status: str | None = None,
    ) -> None:
        self.client_store = client_store
        self.queue_name = queue_name
        self.on_close = on_close
        on_filter = guarded(self.filter_changed)
        with (
            tid(ui.dialog(value=True).props("maximized"), "queue_dialog") as self.dialog,
            ui.card().classes("w-full"),
        ):
            with ui.row().classes("w-full items-center"):
                ui.label(f"Queue: {queue_name}").classes("text-xl")
                ui.space()
                tid(
                    ui.button("New element", icon="add", on_click=guarded(self.new_element)),
                    "queue_dialog_new_button",
                )
                tid(
                    ui.button("Settings", icon="settings", on_click=guarded(self.settings)),
                    "queue_dialog_settings_button",
                )
                tid(
                    ui.button(icon="refresh", on_click=guarded(self.refresh)),
                    "queue_dialog_refresh_button",
                ).tooltip("Refresh")
                tid(
                    ui.button(icon="close", on_click=guarded(self.close)),
                    "queue_dialog_close_button",
                ).tooltip("Close")
            with ui.row().classes("w-full items-start gap-4"):
                self.search_input = tid(
                    ui.input(
                        "Search (reference prefix, or text in data or message)", on_change=on_filter
                    )
                    .props("clearable debounce=400")
                    .classes("w-80"),
                    "queue_dialog_search_input",
                )
                self.status_select = tid(
                    ui.select(
                        [ALL] + [each.value for each in QueueStatus],
                        value=status or ALL,
                        label="Status",
                        on_change=on_filter,
                    ).classes("w-40"),
                    "queue_dialog_status_select",
                )
                # Shown for queues run by a pipeline (openorch.sdk.pipeline) only.
                self.step_select = tid(
                    ui.select([ALL], value=ALL, label="Pipeline step", on_change=on_filter).classes(
                        "w-40"
                    ),
                    "queue_dialog_step_select",
                )
                self.step_select.visible = False
                self.from_input = DatetimeInput("From", "queue_dialog_from", on_change=on_filter)
                self.to_input = DatetimeInput("To", "queue_dialog_to", on_change=on_filter)
                self.overdue_switch = tid(
                    ui.switch("Overdue", on_change=on_filter), "queue_dialog_overdue_switch"
                )
                self.longer_select = tid(
                    ui.select(
                        list(IN_PROGRESS_LONGER),
                        value="Any time",
                        label="In progress longer than",
                        on_change=on_filter,
                    ).classes("w-48"),
                    "queue_dialog_longer_select",
                )
                self.dense_switch = tid(
                    ui.switch("Dense", on_change=self._dense_changed), "queue_dialog_dense_switch"
                )
                with (
                    tid(ui.button("Columns", icon="view_column"), "queue_dialog_columns_button"),
                    ui.menu(),
                    ui.column().classes("q-pa-sm"),
                ):
                    self.column_checks = {
                        column["name"]: tid(
                            ui.checkbox(
                                column["label"], value=True, on_change=self._columns_changed
                            ),
                            f"queue_dialog_column_{column['name']}",
                        )
                        for column in COLUMNS
                    }
            with ui.row().classes("items-center"):
                ui.label("On the filtered elements:")
                for action, (label, _verb, _done) in BULK_ACTIONS.items():
                    tid(
                        ui.button(
                            label,
                            color="negative" if action == "delete" else "primary",
                            on_click=guarded(functools.partial(self.bulk, action)),
                        ).props("outline"),
                        f"queue_dialog_{action}_button",
                    )
            self.server = ServerTable(
                COLUMNS,
                self.fetch,
                "queue_dialog_table",
                title=f"Elements of {queue_name}",
                rows_per_page=50,
                sort_by="created_date",
                descending=True,
                on_row_click=self.open_element,
            )
            status_badge_slot(self.server.table, "status")
            for name in _HOVER_COLUMNS:
                self.server.table.add_slot(
                    f"body-cell-{name}",
                    f'<q-td :props="props" :title="props.row.{name}_full">'
                    "{{ props.value }}</q-td>",
                )
        forget_on_close(self.dialog)

    def filters(self) -> dict[str, Any]:
        """The dialog's filters as the data layer takes them: the table pages them and the
        bulk actions apply to exactly the elements they select."""
        status = self.status_select.value
        step = self.step_select.value
        return {
            "status": None if status in (None, ALL) else QueueStatus(status).name,
            "from_date": self.from_input.get_datetime(),
            "to_date": self.to_input.get_datetime(),
            "search_term": (self.search_input.value or "").strip() or None,
            "overdue": bool(self.overdue_switch.value),
            "in_progress_longer_than": IN_PROGRESS_LONGER.get(self.longer_select.value),
            "pipeline_step": None if step in (None, ALL) else str(step),
        }

    def fetch(self, page: Page) -> tuple[list[dict[str, Any]], int]:
        """One page of elements (runs in a worker thread)."""
        elements, total = self.client_store.store.get_queue_elements(
            self.queue_name,
            offset=page.offset,
            limit=page.limit,
            order_by=page.sort_by or "created_date",
            order_desc=page.descending,
            include_count=True,
            **self.filters(),
        )
        now = datetime.now()
        return [element_row(element, now) for element in elements], total

    async def bulk(self, action: str) -> None:
        """Retry, abandon or delete the filtered elements, after saying how many and asking."""
        _label, verb, done = BULK_ACTIONS[action]
        filters = self.filters()
        store = self.client_store.store
        count = await off_loop(store.count_queue_action, action, self.queue_name, **filters)
        if count == 0:
            ui.notify(f"No filtered element can be {done}.", type="info")
            return
        noun = "element" if count == 1 else "elements"
        if not await question_popup(
            f"{verb} {count} {noun} of queue '{self.queue_name}'?",
            verb,
            yes_color="negative" if action == "delete" else "primary",
        ):
            return
        changed = await off_loop(
            store.apply_queue_action,
            action,
            self.queue_name,
            actor=current_identity().label,
            **filters,
        )
        notify_result(f"{changed} {'element' if changed == 1 else 'elements'} {done}.", "positive")
        await self.refresh()

    async def settings(self) -> QueueSettingsPopup:
        """Open this queue's settings."""
        popup = QueueSettingsPopup(self.client_store, self.queue_name)
        await popup.load()
        return popup

    async def refresh(self) -> None:
        """Fetch the current page again (and the pipeline steps the filter offers)."""
        steps = await off_loop(self.client_store.store.get_pipeline_steps, self.queue_name)
        chosen = self.step_select.value
        options = [ALL, *steps]
        if chosen not in options:
            options.append(chosen)  # keep the admin's choice even if no element is there now
        self.step_select.set_options(options, value=chosen)
        self.step_select.visible = len(options) > 1
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
        element = await off_loop(self.client_store.store.get_queue_element, row["id"])
        pipeline = await off_loop(self.client_store.store.get_pipeline_view, element.id)
        history = await off_loop(self.client_store.store.get_element_history, element.id)
        return QueueElementPopup(
            self.client_store, self.queue_name, element, self.refresh, pipeline, history
        )

    def new_element(self) -> QueueElementPopup:
        """Open an empty element popup that adds to this queue."""
        return QueueElementPopup(self.client_store, self.queue_name, None, self.refresh)

    async def close(self) -> None:
        """Close the dialog and refresh the queue counts behind it."""
        self.dialog.close()
        if self.on_close is not None:
            await self.on_close()

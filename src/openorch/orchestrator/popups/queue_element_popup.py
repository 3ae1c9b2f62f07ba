"""One queue element: view, edit, delete; or a new element for the queue."""

import json
from collections.abc import Awaitable, Callable

from nicegui import ui

from openorch.database import QueueElement, QueueStatus
from openorch.orchestrator.common import fmt, guarded, off_loop, tid
from openorch.orchestrator.connection import Connection
from openorch.orchestrator.popups.generic import forget_on_close, question_popup

#: "Created By" of an element added by hand, as the original Orchestrator writes it.
CREATED_BY_UI = "Orchestrator UI"


def pretty_data(data: str | None) -> str:
    """Data indented when it is JSON, unchanged otherwise (also when it is nested too
    deeply to parse or print: the element must still open, to be edited or deleted)."""
    if not data:
        return ""
    try:
        return json.dumps(json.loads(data), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return data


class QueueElementPopup:
    """Edit an element (element given) or add one to `queue_name` (element None); with
    no queue name it asks for one too, which is how a new queue is created (a queue
    exists by having elements). Test ids start with `queue_element_popup_`."""

    def __init__(self, connection: Connection, queue_name: str | None,
                 element: QueueElement | None,
                 on_change: Callable[[], Awaitable[None]]) -> None:
        self.connection = connection
        self.queue_name = queue_name
        self.element = element
        self.on_change = on_change
        self.shown_data = pretty_data(element.data) if element else ""
        if element:
            title = "Queue element"
        elif queue_name:
            title = f"New element in {queue_name}"
        else:
            title = "New queue: its name and first element"
        with tid(ui.dialog(value=True), "queue_element_popup") as self.dialog, \
                ui.card().classes("w-full max-w-3xl"):
            ui.label(title).classes("text-xl")
            self.queue_input = tid(
                ui.input("Queue Name", value=queue_name or "").classes("w-full"),
                "queue_element_popup_queue_input",
            )
            self.queue_input.visible = not queue_name
            self.reference_input = tid(
                ui.input("Reference", value=element.reference or "" if element else "")
                .classes("w-full"),
                "queue_element_popup_reference_input",
            )
            self.status_select = tid(
                ui.select([status.value for status in QueueStatus],
                          value=(element.status if element else QueueStatus.NEW).value,
                          label="Status").classes("w-48"),
                "queue_element_popup_status_select",
            )
            self.data_input = tid(
                ui.textarea("Data", value=self.shown_data).classes("w-full font-mono")
                .props("autogrow"),
                "queue_element_popup_data_input",
            )
            self.message_input = tid(
                ui.textarea("Message", value=(element.message or "") if element else "")
                .classes("w-full"),
                "queue_element_popup_message_input",
            )
            self.created_by_input = tid(
                ui.input("Created By",
                         value=(element.created_by or "") if element else CREATED_BY_UI)
                .classes("w-full"),
                "queue_element_popup_created_by_input",
            )
            if element is not None:
                self.status_select.enable()
                with ui.grid(columns=2).classes("gap-x-4"):
                    for label, value, name in (
                        ("Created Date", element.created_date, "created"),
                        ("Start Date", element.start_date, "start"),
                        ("End Date", element.end_date, "end"),
                    ):
                        ui.label(label).classes("text-bold")
                        tid(ui.label(fmt(value)), f"queue_element_popup_{name}_date")
                    ui.label("ID").classes("text-bold")
                    tid(ui.label(str(element.id)), "queue_element_popup_id")
            else:
                self.status_select.disable()  # a new element always starts NEW
                self.dialog.props("persistent")
            with ui.row():
                tid(ui.button("Save", on_click=guarded(self.save)),
                    "queue_element_popup_save_button")
                if element is not None:
                    tid(ui.button("Delete", color="negative", on_click=guarded(self.delete)),
                        "queue_element_popup_delete_button")
                tid(ui.button("Close", on_click=self.dialog.close),
                    "queue_element_popup_close_button")
        forget_on_close(self.dialog)

    async def save(self) -> None:
        """Create, or write what changed (a new status stamps its date as the SDK does)."""
        store = self.connection.store
        reference = self.reference_input.value or ""
        data = self.data_input.value or ""
        message = self.message_input.value or ""
        created_by = self.created_by_input.value or ""
        if self.element is None:
            queue_name = self.queue_name or (self.queue_input.value or "").strip()
            if not queue_name:
                raise ValueError("Queue Name is required.")
            await off_loop(store.create_queue_element, queue_name, reference or None,
                           data or None, created_by or None)
            ui.notify(f"Queue element created in {queue_name}.", type="positive")
        else:
            element = self.element
            status = QueueStatus(self.status_select.value)
            if status != element.status:
                await off_loop(store.set_queue_element_status, element.id, status)
            await off_loop(
                store.update_queue_element, element.id,
                reference=reference,
                # Unchanged pretty-printed JSON is not written back reformatted.
                data=None if data == self.shown_data else data,
                message=message,
                created_by=created_by,
            )
            ui.notify("Queue element saved.", type="positive")
        self.dialog.close()
        await self.on_change()

    async def delete(self) -> None:
        """Delete after asking."""
        if self.element is None:
            return
        label = self.element.reference or str(self.element.id)
        if not await question_popup(f"Delete queue element '{label}'?", "Delete",
                                    yes_color="negative"):
            return
        await off_loop(self.connection.store.delete_queue_element, self.element.id)
        ui.notify("Queue element deleted.", type="positive")
        self.dialog.close()
        await self.on_change()

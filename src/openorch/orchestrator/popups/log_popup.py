"""One log entry in full: the message in a preformatted block, always as text."""

from typing import Any

from nicegui import ui

from openorch.orchestrator.common import tid
from openorch.orchestrator.popups.generic import forget_on_close


def log_popup(log: Any) -> ui.dialog:
    """Show a whole log entry. `ui.label` sets text, never HTML, so a message holding
    `<script>` shows those characters and runs nothing."""
    with tid(ui.dialog(value=True), "log_popup") as dialog, ui.card().classes("w-full max-w-4xl"):
        ui.label("Log entry").classes("text-xl")
        with ui.grid(columns=2).classes("gap-x-4 gap-y-1"):
            for label, value, name in (
                ("Log Time", log["log_time"], "time"),
                ("Level", log["log_level"], "level"),
                ("Process Name", log["process_name"], "process"),
                ("Job ID", log["job_id_full"], "job"),
                ("ID", log["id"], "id"),
            ):
                ui.label(label).classes("text-bold")
                tid(ui.label(str(value)), f"log_popup_{name}")
        tid(
            ui.label(log["log_message_full"]).classes(
                "whitespace-pre-wrap font-mono text-sm q-pa-sm rounded-borders bg-grey-2 "
                "text-black w-full break-all"
            ),
            "log_popup_message",
        )
        tid(ui.button("Close", on_click=dialog.close), "log_popup_close_button")
    forget_on_close(dialog)
    return dialog

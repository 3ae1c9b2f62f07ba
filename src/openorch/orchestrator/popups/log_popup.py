"""One log entry in full: the message in a preformatted block, always as text, and a
button to the logs of the job that wrote it."""

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from openorch.orchestrator.common import guarded, tid
from openorch.orchestrator.popups.generic import forget_on_close


def log_popup(
    log: Any, open_job_logs: Callable[[str], Awaitable[object]] | None = None
) -> ui.dialog:
    """Show a whole log entry. `ui.label` sets text, never HTML, so a message holding
    `<script>` shows those characters and runs nothing.

    With `open_job_logs` and a job id, "Show this job's logs" opens every line of that
    job (the original's log popup offers the same); the caller passes it (the Logs tab:
    `job_logs_popup.open_job_logs`), so this popup does not import the job's popup,
    whose log table opens this one.
    """
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
        with ui.row():
            if open_job_logs is not None and log.get("job_id_full"):
                show = open_job_logs

                async def show_job_logs() -> None:
                    await show(str(log["job_id_full"]))
                    dialog.close()

                tid(
                    ui.button("Show this job's logs", icon="list", on_click=guarded(show_job_logs)),
                    "log_popup_job_logs_button",
                )
            tid(ui.button("Close", on_click=dialog.close), "log_popup_close_button")
    forget_on_close(dialog)
    return dialog

"""The logs of one job, in a large dialog (paged on the server like the Logs tab)."""

from typing import Any

from nicegui import ui

from openorch.orchestrator.common import tid
from openorch.orchestrator.connection import Connection
from openorch.orchestrator.popups.generic import forget_on_close


class JobLogsPopup:
    """Every log line written under one job id."""

    def __init__(self, connection: Connection, job: dict[str, Any]) -> None:
        from openorch.orchestrator.tabs.logs import LogFilter, LogTable

        job_id = str(job["id"])
        with tid(ui.dialog(value=True), "job_logs_popup") as self.dialog, \
                ui.card().classes("w-full max-w-6xl"):
            ui.label(f"Logs of job {job_id}").classes("text-xl")
            ui.label(
                f"{job.get('process_name', '')} on {job.get('scheduler_name', '')}, "
                f"started {job.get('start_time', '')}, {job.get('status', '')}"
            )
            self.table = LogTable(connection, lambda: LogFilter(job_id=job_id), "job_logs_table",
                                  "Logs", job_button=False)
            tid(ui.button("Close", on_click=self.dialog.close), "job_logs_popup_close_button")
        forget_on_close(self.dialog)

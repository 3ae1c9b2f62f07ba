"""Jobs: process runs, newest first, paged on the server, filtered by status and process;
a click shows that job's logs."""

from datetime import datetime
from typing import Any

from nicegui import ui

from openorch.database import Job, JobStatus
from openorch.orchestrator.common import ALL, fmt, guarded, off_loop, tid
from openorch.orchestrator.connection import Connection
from openorch.orchestrator.popups.job_logs_popup import JobLogsPopup
from openorch.orchestrator.widgets import (
    DatetimeInput,
    Page,
    ServerTable,
    status_badge_slot,
    status_color,
)

COLUMNS: list[dict[str, Any]] = [
    {"name": "id", "label": "ID", "field": "id", "align": "left"},
    {"name": "process_name", "label": "Process Name", "field": "process_name", "align": "left",
     "sortable": True},
    {"name": "scheduler_name", "label": "Scheduler", "field": "scheduler_name", "align": "left",
     "sortable": True},
    {"name": "start_time", "label": "Start Time", "field": "start_time", "align": "left",
     "sortable": True},
    {"name": "end_time", "label": "End Time", "field": "end_time", "align": "left",
     "sortable": True},
    {"name": "status", "label": "Status", "field": "status", "align": "left", "sortable": True},
]


def job_row(job: Job) -> dict[str, Any]:
    """One table row for a job."""
    return {
        "id": str(job.id),
        "process_name": job.process_name,
        "scheduler_name": job.scheduler_name,
        "start_time": fmt(job.start_time),
        "end_time": fmt(job.end_time),
        "status": job.status.value,
        "status_color": status_color(job.status.value),
    }


class JobsTab:
    """The Jobs panel: newest first, paged and sorted by the database."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.applying = False
        on_filter = guarded(self.filter_changed)
        with ui.row().classes("items-start gap-4"):
            self.status_select = tid(
                ui.select([ALL] + [status.value for status in JobStatus], value=ALL,
                          label="Status", on_change=on_filter).classes("w-40"),
                "jobs_status_select",
            )
            self.process_select = tid(
                ui.select([ALL], value=ALL, label="Process Name", on_change=on_filter)
                .classes("w-56"),
                "jobs_process_select",
            )
            self.from_input = DatetimeInput("Started from", "jobs_from", on_change=on_filter)
        self.server = ServerTable(COLUMNS, self.fetch, "jobs_table", title="Jobs",
                                  rows_per_page=50,
                                  sort_by="start_time", descending=True,
                                  on_row_click=self.open_job)
        status_badge_slot(self.server.table, "status")

    def fetch(self, page: Page) -> tuple[list[dict[str, Any]], int]:
        """One page of jobs (runs in a worker thread)."""
        status = self.status_select.value
        process = self.process_select.value
        jobs, total = self.connection.store.get_jobs(
            status=None if status in (None, ALL) else str(status),
            process_name=None if process in (None, ALL) else str(process),
            started_from=self.from_input.get_datetime(),
            offset=page.offset, limit=page.limit, include_count=True,
            order_by=page.sort_by or "start_time", order_desc=page.descending,
        )
        return [job_row(job) for job in jobs], total

    def apply_filter(self, status: str | None = None, process_name: str | None = None,
                     started_from: datetime | None = None) -> None:
        """Set the filters (from an Overview link); the tab change refreshes once."""
        self.applying = True
        try:
            self.status_select.value = status or ALL
            self.from_input.set_datetime(started_from)
            process = process_name or ALL
            options = list(self.process_select.options)
            if process not in options:
                options.append(process)
            self.process_select.set_options(options, value=process)
            self.server.first_page()
        finally:
            self.applying = False

    async def filter_changed(self) -> None:
        """A filter changed: back to the first page."""
        if self.connection.connected and not self.applying:
            self.server.first_page()
            await self.server.refresh()

    async def refresh(self) -> None:
        """Refresh the process names and the current page."""
        names = await off_loop(self.connection.store.get_unique_job_process_names)
        options = [ALL, *names]
        if self.process_select.value not in options:
            options.append(self.process_select.value)
        self.process_select.set_options(options, value=self.process_select.value)
        await self.server.refresh()

    async def open_job(self, row: dict[str, Any]) -> JobLogsPopup:
        """Show the clicked job's logs."""
        popup = JobLogsPopup(self.connection, row)
        await popup.table.refresh()
        return popup

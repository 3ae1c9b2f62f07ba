"""Jobs: process runs, newest first, paged on the server, filtered by status, process,
reported outcome and why they failed; each failed job's row says why (its reported
failure, or the exception line and exit code). A click shows the job: its outcome
message and data, duration, correlation id, logs, and a link to every process's logs
around that time."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from nicegui import ui

from openorch.database import JobOutcome, JobStatus
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import ALL, guarded, off_loop, tid
from openorch.orchestrator.popups.job_logs_popup import JobLogsPopup
from openorch.orchestrator.rows import job_row
from openorch.orchestrator.widgets import (
    DatetimeInput,
    Page,
    ServerTable,
    status_badge_slot,
)

COLUMNS: list[dict[str, Any]] = [
    {"name": "id", "label": "ID", "field": "id", "align": "left"},
    {
        "name": "process_name",
        "label": "Process Name",
        "field": "process_name",
        "align": "left",
        "sortable": True,
    },
    {
        "name": "scheduler_name",
        "label": "Scheduler",
        "field": "scheduler_name",
        "align": "left",
        "sortable": True,
    },
    {
        "name": "start_time",
        "label": "Start Time",
        "field": "start_time",
        "align": "left",
        "sortable": True,
    },
    {
        "name": "end_time",
        "label": "End Time",
        "field": "end_time",
        "align": "left",
        "sortable": True,
    },
    {"name": "status", "label": "Status", "field": "status", "align": "left", "sortable": True},
    {
        "name": "reason",
        "label": "Why It Failed",
        "field": "reason",
        "align": "left",
        "style": "white-space: normal; min-width: 14rem; max-width: 28rem",
    },
    {"name": "duration", "label": "Duration", "field": "duration", "align": "right"},
    {"name": "outcome", "label": "Outcome", "field": "outcome", "align": "left"},
    {
        "name": "outcome_message",
        "label": "Outcome Message",
        "field": "outcome_message",
        "align": "left",
    },
    {
        "name": "correlation_id",
        "label": "Correlation ID",
        "field": "correlation_id",
        "align": "left",
    },
]

#: The outcome filter's choices: a reported outcome, or none reported.
NO_OUTCOME = "None reported"


#: Shows the Logs tab between two times (every process): `OrchestratorPage.show_logs`.
ShowLogs = Callable[[datetime, datetime], Awaitable[None]]


class JobsTab:
    """The Jobs panel: newest first, paged and sorted by the database."""

    def __init__(self, client_store: ClientStore, show_logs: ShowLogs | None = None) -> None:
        self.client_store = client_store
        self.show_logs = show_logs
        self.applying = False
        on_filter = guarded(self.filter_changed)
        with ui.row().classes("items-start gap-4"):
            self.status_select = tid(
                ui.select(
                    [ALL] + [status.value for status in JobStatus],
                    value=ALL,
                    label="Status",
                    on_change=on_filter,
                ).classes("w-40"),
                "jobs_status_select",
            )
            self.process_select = tid(
                ui.select([ALL], value=ALL, label="Process Name", on_change=on_filter).classes(
                    "w-56"
                ),
                "jobs_process_select",
            )
            self.outcome_select = tid(
                ui.select(
                    [ALL] + [outcome.value for outcome in JobOutcome] + [NO_OUTCOME],
                    value=ALL,
                    label="Outcome",
                    on_change=on_filter,
                ).classes("w-44"),
                "jobs_outcome_select",
            )
            self.from_input = DatetimeInput("Started from", "jobs_from", on_change=on_filter)
            self.failure_input = tid(
                ui.input(
                    "Why it failed contains",
                    placeholder="e.g. ZeroDivisionError",
                    on_change=on_filter,
                )
                .props("clearable debounce=400")
                .classes("w-64"),
                "jobs_failure_input",
            )
        self.server = ServerTable(
            COLUMNS,
            self.fetch,
            "jobs_table",
            title="Jobs",
            rows_per_page=50,
            sort_by="start_time",
            descending=True,
            on_row_click=self.open_job,
        )
        status_badge_slot(self.server.table, "status")
        self.server.table.add_slot(
            "body-cell-reason",
            """
            <q-td :props="props" class="text-negative" :title="props.row.reason_full">
                {{ props.value }}
            </q-td>
        """,
        )
        self.server.table.add_slot(
            "body-cell-outcome",
            """
            <q-td :props="props">
                <q-badge v-if="props.value" :color="props.row.outcome_color"
                         :label="props.value" />
            </q-td>
        """,
        )

    def fetch(self, page: Page) -> tuple[list[dict[str, Any]], int]:
        """One page of jobs (runs in a worker thread)."""
        status = self.status_select.value
        process = self.process_select.value
        outcome = self.outcome_select.value
        jobs, total = self.client_store.store.get_jobs(
            status=None if status in (None, ALL) else str(status),
            process_name=None if process in (None, ALL) else str(process),
            started_from=self.from_input.get_datetime(),
            offset=page.offset,
            limit=page.limit,
            include_count=True,
            order_by=page.sort_by or "start_time",
            order_desc=page.descending,
            outcome=None
            if outcome in (None, ALL)
            else "NONE"
            if outcome == NO_OUTCOME
            else str(outcome),
            failure=self.failure_input.value or None,
        )
        reasons = self.client_store.store.get_failure_reasons(jobs)
        return [job_row(job, reasons.get(job.id, "")) for job in jobs], total

    def apply_filter(
        self,
        status: str | None = None,
        process_name: str | None = None,
        started_from: datetime | None = None,
    ) -> None:
        """Set the filters (from an Overview link); the tab change refreshes once."""
        self.applying = True
        try:
            self.status_select.value = status or ALL
            self.outcome_select.value = ALL
            self.failure_input.value = ""
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
        if self.client_store.connected and not self.applying:
            self.server.first_page()
            await self.server.refresh()

    async def refresh(self) -> None:
        """Refresh the process names and the current page."""
        names = await off_loop(self.client_store.store.get_unique_job_process_names)
        options = [ALL, *names]
        if self.process_select.value not in options:
            options.append(self.process_select.value)
        self.process_select.set_options(options, value=self.process_select.value)
        await self.server.refresh()

    async def open_job(self, row: dict[str, Any]) -> JobLogsPopup:
        """Show the clicked job: why it failed, outcome, data, duration, correlation id,
        its logs and the way to every process's logs around that time."""
        job = await off_loop(self.client_store.store.get_job, row["id"])
        popup = JobLogsPopup(
            self.client_store, row, job, reason=row.get("reason_full", ""), show_logs=self.show_logs
        )
        await popup.table.refresh()
        return popup

"""Logs: filters (from, to, process, level) over a table paged on the server, newest first.

The table itself (`LogTable`) lives in `orchestrator/log_table.py`, shared with the
job-logs popup.
"""

from datetime import datetime

from nicegui import ui

from openorch.database import LogLevel
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import ALL, guarded, off_loop, tid
from openorch.orchestrator.log_table import LogFilter, LogTable
from openorch.orchestrator.popups.job_logs_popup import open_job_logs
from openorch.orchestrator.popups.log_popup import log_popup
from openorch.orchestrator.widgets import (
    DatetimeInput,
)


class LogsTab:
    """The Logs panel."""

    def __init__(self, client_store: ClientStore) -> None:
        self.client_store = client_store
        self.applying = False
        on_filter = guarded(self.filter_changed)
        with ui.row().classes("items-start gap-4"):
            self.from_input = DatetimeInput("From", "logs_from", on_change=on_filter)
            self.to_input = DatetimeInput("To", "logs_to", on_change=on_filter)
            self.process_select = tid(
                ui.select([ALL], value=ALL, label="Process Name", on_change=on_filter).classes(
                    "w-56"
                ),
                "logs_process_select",
            )
            self.level_select = tid(
                ui.select(
                    [ALL] + [level.value for level in LogLevel],
                    value=ALL,
                    label="Level",
                    on_change=on_filter,
                ).classes("w-36"),
                "logs_level_select",
            )
        self.table = LogTable(
            client_store,
            self.current_filter,
            "logs_table",
            "Logs",
            on_row_click=lambda row: log_popup(
                row, lambda job_id: open_job_logs(client_store, job_id)
            ),
        )

    def current_filter(self) -> LogFilter:
        """The filters as entered (bad dates raise ValueError with the field's name)."""
        process = self.process_select.value
        level = self.level_select.value
        return LogFilter(
            from_date=self.from_input.get_datetime(),
            to_date=self.to_input.get_datetime(),
            process_name=None if process in (None, ALL) else str(process),
            log_level=None if level in (None, ALL) else str(level),
        )

    def apply_filter(
        self,
        level: str | None = None,
        from_date: datetime | None = None,
        process_name: str | None = None,
        to_date: datetime | None = None,
    ) -> None:
        """Set the filters (from an Overview link or a job's "logs around this time");
        the tab change refreshes once."""
        self.applying = True
        try:
            self.level_select.value = level or ALL
            self.from_input.set_datetime(from_date)
            self.to_input.set_datetime(to_date)
            process = process_name or ALL
            options = list(self.process_select.options)
            if process not in options:
                options.append(process)
            self.process_select.set_options(options, value=process)
            self.table.server.first_page()
        finally:
            self.applying = False

    async def filter_changed(self) -> None:
        """A filter changed: back to the first page."""
        if self.client_store.connected and not self.applying:
            await self.table.refresh(first_page=True)

    async def refresh(self) -> None:
        """Refresh the process names and the current page."""
        names = await off_loop(self.client_store.store.get_unique_log_process_names)
        options = [ALL, *names]
        if self.process_select.value not in options:
            options.append(self.process_select.value)
        self.process_select.set_options(options, value=self.process_select.value)
        await self.table.refresh()

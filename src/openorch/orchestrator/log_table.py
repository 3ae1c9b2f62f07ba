"""The logs table, paged and sorted by the database: the Logs tab shows it with filters, the
job-logs popup shows it for one job. Kept apart from both so a popup never imports a tab.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openorch.database import Log
from openorch.masking import mask
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import cut, fmt, short_id
from openorch.orchestrator.widgets import Page, ServerTable, status_badge_slot, status_color
from openorch.store.runs.failures import summarize_message

COLUMNS: list[dict[str, Any]] = [
    {
        "name": "log_time",
        "label": "Log Time",
        "field": "log_time",
        "align": "left",
        "sortable": True,
    },
    {
        "name": "log_level",
        "label": "Level",
        "field": "log_level",
        "align": "left",
        "sortable": True,
    },
    {
        "name": "process_name",
        "label": "Process Name",
        "field": "process_name",
        "align": "left",
        "sortable": True,
    },
    {
        "name": "log_message",
        "label": "Message",
        "field": "log_message",
        "align": "left",
        "style": "white-space: normal; max-width: 40rem",
    },
    {"name": "job_id", "label": "Job ID", "field": "job_id", "align": "left"},
]


def log_row(log: Log) -> dict[str, Any]:
    """One table row: the message's meaningful part first (for a crash the exception
    line, exit code and "traceback below": `summarize_message`) cut to 100 characters,
    the job id shortened to its end (the part that differs); the full values ride along
    for the popup. Masked again on the way out: rows written before openorch masked log
    messages may still hold a password."""
    message = mask(log.log_message or "")
    return {
        "id": str(log.id),
        "log_time": fmt(log.log_time),
        "log_level": log.log_level.value,
        "log_level_color": status_color(log.log_level.value),
        "process_name": log.process_name,
        "log_message": cut(summarize_message(message), 100),
        "log_message_full": message,
        "job_id": short_id(log.job_id),
        "job_id_full": str(log.job_id) if log.job_id else "",
    }


@dataclass
class LogFilter:
    """What the Logs tab (or a job) narrows the logs to."""

    from_date: datetime | None = None
    to_date: datetime | None = None
    process_name: str | None = None
    log_level: str | None = None
    job_id: str | None = None


class LogTable:
    """Logs paged and sorted by the database; a click opens the whole entry."""

    def __init__(
        self,
        client_store: ClientStore,
        get_filter: Callable[[], LogFilter],
        test_id: str,
        title: str | None = None,
        *,
        on_row_click: Callable[[dict[str, Any]], object],
    ) -> None:
        """`on_row_click` opens the whole entry (the caller's log popup: this shared table
        does not import popups, which import it)."""
        self.client_store = client_store
        self.get_filter = get_filter
        self.server = ServerTable(
            COLUMNS,
            self.fetch,
            test_id,
            title=title,
            rows_per_page=50,
            sort_by="log_time",
            descending=True,
            on_row_click=on_row_click,
        )
        status_badge_slot(self.server.table, "log_level")
        self.server.table.add_slot(
            "body-cell-job_id",
            """
            <q-td :props="props" :title="props.row.job_id_full" class="font-mono">
                {{ props.value }}
            </q-td>
        """,
        )

    def fetch(self, page: Page) -> tuple[list[dict[str, Any]], int]:
        """One page of logs (runs in a worker thread)."""
        wanted = self.get_filter()
        logs, total = self.client_store.store.get_logs(
            offset=page.offset,
            limit=page.limit,
            from_date=wanted.from_date,
            to_date=wanted.to_date,
            process_name=wanted.process_name,
            log_level=wanted.log_level,
            job_id=wanted.job_id,
            order_by=page.sort_by or "log_time",
            order_desc=page.descending,
            include_count=True,
        )
        return [log_row(log) for log in logs], total

    async def refresh(self, first_page: bool = False) -> None:
        """Fetch again (from page 1 after a filter change)."""
        if first_page:
            self.server.first_page()
        await self.server.refresh()

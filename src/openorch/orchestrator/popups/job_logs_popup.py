"""One job in a large dialog: what its process reported (message and data, the data
pretty-printed), its duration and correlation id, and its logs (paged on the server
like the Logs tab)."""

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from nicegui import ui

from openorch.database import Job
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import fmt, guarded, off_loop, tid
from openorch.orchestrator.log_table import LogFilter, LogTable
from openorch.orchestrator.popups.generic import forget_on_close
from openorch.orchestrator.popups.log_popup import log_popup
from openorch.orchestrator.rows import duration_text, job_row


def pretty_data(text: str | None) -> str:
    """Outcome data as indented JSON (the stored text if it is somehow not JSON)."""
    if text is None:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return text


#: How far before a job's start and after its end "Logs around this time" reaches.
AROUND = timedelta(minutes=5)


def around(job: Job) -> tuple[datetime, datetime]:
    """From five minutes before the job started to five after it ended (or now), widened
    to whole minutes (the Logs tab's time inputs show minutes)."""
    start = (job.start_time - AROUND).replace(second=0, microsecond=0)
    end = ((job.end_time or datetime.now()) + AROUND).replace(second=0, microsecond=0)
    return start, end + timedelta(minutes=1)


class JobLogsPopup:
    """A job's outcome and every log line written under its id."""

    def __init__(
        self,
        client_store: ClientStore,
        job: dict[str, Any],
        full: Job | None = None,
        *,
        reason: str = "",
        show_logs: Callable[[datetime, datetime], Awaitable[None]] | None = None,
    ) -> None:
        job_id = str(job["id"])
        with (
            tid(ui.dialog(value=True), "job_logs_popup") as self.dialog,
            ui.card().classes("w-full max-w-6xl"),
        ):
            ui.label(f"Job {job_id}").classes("text-xl")
            ui.label(
                f"{job.get('process_name', '')} on {job.get('scheduler_name', '')}, "
                f"started {job.get('start_time', '')}, {job.get('status', '')}"
            )
            if reason:
                with ui.row().classes("items-center gap-2"):
                    ui.icon("error", color="negative")
                    tid(ui.label(reason).classes("text-negative font-bold"), "job_reason")
            if full is not None:
                self._outcome(full, duration_text(full))
            with ui.row().classes("items-center gap-4"):
                ui.label("Logs").classes("text-lg")
                if full is not None and show_logs is not None:
                    start, end = around(full)

                    async def logs_around() -> None:
                        self.dialog.close()
                        await show_logs(start, end)

                    tid(
                        ui.button(
                            "Every process's logs around this time", on_click=guarded(logs_around)
                        ).props("flat dense icon=schedule"),
                        "job_logs_around_button",
                    ).tooltip("The Logs tab, every process, 5 minutes before to 5 minutes after")
            self.table = LogTable(
                client_store,
                lambda: LogFilter(job_id=job_id),
                "job_logs_table",
                on_row_click=log_popup,  # no "this job's logs" button: they are open here
            )
            tid(ui.button("Close", on_click=self.dialog.close), "job_logs_popup_close_button")
        forget_on_close(self.dialog)

    @staticmethod
    def _outcome(job: Job, duration: str) -> None:
        with ui.grid(columns=2).classes("gap-x-6 gap-y-1"):
            ui.label("Ended")
            tid(ui.label(fmt(job.end_time, "still running")), "job_end_time")
            ui.label("Duration")
            tid(ui.label(duration or "still running"), "job_duration")
            ui.label("Correlation ID")
            tid(ui.label(job.correlation_id or "none"), "job_correlation_id")
            ui.label("Outcome")
            reported = (
                f"{job.outcome.value} at {fmt(job.outcome_time)}"
                if job.outcome is not None
                else "nothing reported"
            )
            tid(ui.label(reported), "job_outcome")
        if job.outcome_message:
            tid(ui.label(job.outcome_message).classes("whitespace-pre-wrap"), "job_outcome_message")
        if job.outcome_data is not None:
            # A label (text, never markdown or HTML): the data is the process's, not ours.
            # Black on light grey in both modes (dark mode made it white on light grey),
            # as the log popup's message.
            tid(
                ui.label(pretty_data(job.outcome_data)).classes(
                    "w-full font-mono text-sm whitespace-pre-wrap bg-grey-2 text-black p-2 "
                    "max-h-96 overflow-auto"
                ),
                "job_outcome_data",
            )


async def open_job_logs(client_store: ClientStore, job_id: str) -> JobLogsPopup:
    """Open the job-logs popup of a job, described from the database (the log popup's
    "Show this job's logs")."""
    job = await off_loop(client_store.store.get_job, job_id)
    popup = JobLogsPopup(client_store, job_row(job), job)
    await popup.table.refresh()
    return popup

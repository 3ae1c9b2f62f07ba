"""One queue element: view, edit, delete; or a new element for the queue."""

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from nicegui import ui

from openorch.database import QueueElement, QueueStatus
from openorch.orchestrator.audited_store import one_row
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import attempts_made, fmt, guarded, notify_result, off_loop, tid
from openorch.orchestrator.popups.element_timeline import timeline_section
from openorch.orchestrator.popups.generic import forget_on_close, question_popup
from openorch.orchestrator.popups.job_logs_popup import JobLogsPopup
from openorch.orchestrator.rows import job_row
from openorch.orchestrator.who import current_identity
from openorch.store import PipelineView, TimelineEntry
from openorch.store.queues.messages import describe_duration

HISTORY_COLUMNS: list[dict[str, Any]] = [
    {"name": name, "label": label, "field": name, "align": "left"}
    for name, label in (
        ("step", "Step"),
        ("part", "Part"),
        ("started", "Started"),
        ("finished", "Finished"),
        ("outcome", "Outcome"),
        ("job", "Job"),
        ("message", "Message"),
    )
]

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

    def __init__(
        self,
        client_store: ClientStore,
        queue_name: str | None,
        element: QueueElement | None,
        on_change: Callable[[], Awaitable[None]],
        pipeline: PipelineView | None = None,
        history: tuple[TimelineEntry, ...] | None = None,
    ) -> None:
        self.client_store = client_store
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
        with (
            tid(ui.dialog(value=True), "queue_element_popup") as self.dialog,
            ui.card().classes("w-full max-w-3xl"),
        ):
            ui.label(title).classes("text-xl")
            self._fields(queue_name, element)
            if element is not None:
                self.status_select.enable()
                self._facts(element)
                if pipeline is not None:
                    pipeline_section(pipeline)
                if history is not None:
                    timeline_section(history, "queue_element_popup_history")
            else:
                self.status_select.disable()  # a new element always starts NEW
                self.dialog.props("persistent")
            self._buttons(element)
        forget_on_close(self.dialog)

    def _fields(self, queue_name: str | None, element: QueueElement | None) -> None:
        """The editable fields (the queue's name only for a new queue)."""
        self.queue_input = tid(
            ui.input("Queue Name", value=queue_name or "").classes("w-full"),
            "queue_element_popup_queue_input",
        )
        self.queue_input.visible = not queue_name
        self.reference_input = tid(
            ui.input("Reference", value=element.reference or "" if element else "").classes(
                "w-full"
            ),
            "queue_element_popup_reference_input",
        )
        self.status_select = tid(
            ui.select(
                [status.value for status in QueueStatus],
                value=(element.status if element else QueueStatus.NEW).value,
                label="Status",
            ).classes("w-48"),
            "queue_element_popup_status_select",
        )
        self.data_input = tid(
            ui.textarea("Data", value=self.shown_data)
            .classes("w-full font-mono")
            .props("autogrow"),
            "queue_element_popup_data_input",
        )
        self.message_input = tid(
            ui.textarea("Message", value=(element.message or "") if element else "").classes(
                "w-full"
            ),
            "queue_element_popup_message_input",
        )
        self.created_by_input = tid(
            ui.input(
                "Created By", value=(element.created_by or "") if element else CREATED_BY_UI
            ).classes("w-full"),
            "queue_element_popup_created_by_input",
        )

    def _facts(self, element: QueueElement) -> None:
        """What an existing element's history says: dates, attempts, its job, its id."""
        with ui.grid(columns=2).classes("gap-x-4"):
            for label, value, name in (
                ("Created Date", element.created_date, "created"),
                ("Start Date", element.start_date, "start"),
                ("End Date", element.end_date, "end"),
            ):
                ui.label(label).classes("text-bold")
                tid(ui.label(fmt(value)), f"queue_element_popup_{name}_date")
            for label, value, name in (
                ("Not Before", element.not_before, "not_before"),
                ("Deadline", element.deadline, "deadline"),
            ):
                ui.label(label).classes("text-bold")
                tid(ui.label(fmt(value)), f"queue_element_popup_{name}")
            ui.label("Attempts").classes("text-bold")
            tid(ui.label(str(attempts_made(element))), "queue_element_popup_attempts")
            ui.label("Job").classes("text-bold")
            if element.job_id is not None:
                tid(
                    ui.button(str(element.job_id), on_click=guarded(self.open_job))
                    .props("flat dense no-caps")
                    .classes("q-pa-none"),
                    "queue_element_popup_job_link",
                ).tooltip("Open the job's logs")
            else:
                tid(ui.label("none recorded"), "queue_element_popup_job_link")
            if element.status is QueueStatus.IN_PROGRESS and element.start_date:
                ui.label("In Progress For").classes("text-bold")
                tid(
                    ui.label(describe_duration(datetime.now() - element.start_date)),
                    "queue_element_popup_in_progress_for",
                )
            ui.label("ID").classes("text-bold")
            tid(ui.label(str(element.id)), "queue_element_popup_id")

    def _buttons(self, element: QueueElement | None) -> None:
        """Save; Delete and (for an element the original claimed) Release; Close."""
        with ui.row():
            tid(ui.button("Save", on_click=guarded(self.save)), "queue_element_popup_save_button")
            if element is not None:
                tid(
                    ui.button("Delete", color="negative", on_click=guarded(self.delete)),
                    "queue_element_popup_delete_button",
                )
            if (
                element is not None
                and element.status is QueueStatus.IN_PROGRESS
                and element.job_id is None
            ):
                # Claimed by the original (no job recorded): nothing releases it but an admin.
                tid(
                    ui.button("Release", color="warning", on_click=guarded(self.release)),
                    "queue_element_popup_release_button",
                ).tooltip("Back to NEW if the queue allows another attempt, else ABANDONED")
            tid(ui.button("Close", on_click=self.dialog.close), "queue_element_popup_close_button")

    async def save(self) -> None:
        """Create, or write what changed (a new status stamps its date as the SDK does)."""
        store = self.client_store.store
        reference = self.reference_input.value or ""
        data = self.data_input.value or ""
        message = self.message_input.value or ""
        created_by = self.created_by_input.value or ""
        if self.element is None:
            queue_name = self.queue_name or (self.queue_input.value or "").strip()
            if not queue_name:
                raise ValueError("Queue Name is required.")
            await off_loop(
                store.create_queue_element,
                queue_name,
                reference or None,
                data or None,
                created_by or None,
            )
            notify_result(f"Queue element created in {queue_name}.", "positive")
        else:
            element = self.element
            who = current_identity().label
            status = QueueStatus(self.status_select.value)

            def write() -> None:
                # One save, one audit row, however many data-layer calls it takes.
                # A FAILED status last: whoever sees it sees the rest saved too (and the
                # failure is recorded, and sent to review per the queue's setting).
                with one_row(store, "queue_element.update"):
                    store.edit_queue_element(
                        element.id,
                        who,
                        status=None if status is QueueStatus.FAILED else status,
                        reference=reference,
                        # Unchanged pretty-printed JSON is not written back reformatted.
                        data=None if data == self.shown_data else data,
                        message=message,
                        created_by=created_by,
                    )
                    if status != element.status and status is QueueStatus.FAILED:
                        store.set_queue_element_status(element.id, status, actor=who)

            await off_loop(write)
            notify_result("Queue element saved.", "positive")
        self.dialog.close()
        await self.on_change()

    async def open_job(self) -> object:
        """Open the logs of the job that claimed this element."""
        assert self.element is not None and self.element.job_id is not None
        job = await off_loop(self.client_store.store.get_job, self.element.job_id)
        return JobLogsPopup(self.client_store, job_row(job), job)

    async def release(self) -> None:
        """Release an element stuck IN_PROGRESS without a job, after asking."""
        if self.element is None:
            return
        label = self.element.reference or str(self.element.id)
        if not await question_popup(
            f"Release queue element '{label}'? It goes back to NEW if its queue allows "
            "another attempt, otherwise it becomes ABANDONED.",
            "Release",
            yes_color="warning",
        ):
            return
        status = await off_loop(self.client_store.store.release_queue_element, self.element.id)
        notify_result(f"Queue element released: now {status.name}.", "positive")
        self.dialog.close()
        await self.on_change()

    async def delete(self) -> None:
        """Delete after asking."""
        if self.element is None:
            return
        label = self.element.reference or str(self.element.id)
        if not await question_popup(
            f"Delete queue element '{label}'?", "Delete", yes_color="negative"
        ):
            return
        await off_loop(self.client_store.store.delete_queue_element, self.element.id)
        notify_result("Queue element deleted.", "positive")
        self.dialog.close()
        await self.on_change()


def history_row(index: int, row: Any) -> dict[str, Any]:
    """One line of the step history table."""
    return {
        "id": index,
        "step": row.step,
        "part": row.part,
        "started": fmt(row.started_date),
        "finished": fmt(row.finished_date),
        "outcome": row.outcome or "running",
        "job": str(row.job_id) if row.job_id else "",
        "message": row.message or "",
    }


def pipeline_section(view: PipelineView) -> None:
    """The pipeline that runs the element: its current step, state and step history.
    Read-only: the pipeline's runs write it."""
    run = view.run
    if run.step is None:
        where = "finished (every step done)"
    elif run.continuing:
        since = f" since {fmt(run.wait_started)}" if run.wait_started else ""
        where = f"{run.step} (waiting to be continued{since})"
    else:
        where = run.step
    with tid(ui.column().classes("w-full gap-1"), "queue_element_popup_pipeline"):
        ui.separator()
        with ui.grid(columns=2).classes("gap-x-4"):
            ui.label("Pipeline").classes("text-bold")
            tid(ui.label(run.pipeline), "queue_element_popup_pipeline_name")
            ui.label("Current step").classes("text-bold")
            tid(ui.label(where), "queue_element_popup_pipeline_step")
            ui.label("Updated").classes("text-bold")
            ui.label(fmt(run.updated_date))
        ui.label("State").classes("text-bold")
        tid(
            ui.code(pretty_data(run.state), language="json").classes("w-full"),
            "queue_element_popup_pipeline_state",
        )
        ui.label("Step history").classes("text-bold")
        tid(
            ui.table(
                columns=HISTORY_COLUMNS,
                rows=[history_row(index, row) for index, row in enumerate(view.history)],
                row_key="id",
            )
            .props("dense flat")
            .classes("w-full"),
            "queue_element_popup_pipeline_history",
        )

"""One review item: its element (data, job's logs, history) and the decision.

Test ids start with `review_popup_`. Who decides is `who.current_identity().label`,
taken in the click's handler (the identity of the browser that clicked).
"""

import json
from collections.abc import Awaitable, Callable

from nicegui import ui

from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import fmt, guarded, notify_result, off_loop, tid
from openorch.orchestrator.popups.element_timeline import timeline_section
from openorch.orchestrator.popups.generic import forget_on_close
from openorch.orchestrator.popups.queue_element_popup import pretty_data
from openorch.orchestrator.who import current_identity
from openorch.store import ReviewEntry, TimelineEntry
from openorch.store.queues.review import ALLOWED_DECISIONS, FINAL_DECISIONS

#: How each decision reads on its button.
DECISION_LABELS = {
    "retry": "Retry",
    "continue": "Continue",
    "done": "Done (handled by hand)",
    "failed": "Failed (final)",
    "abandon": "Abandon",
}


class ReviewPopup:
    """Decide one review item (or look at a decided one)."""

    def __init__(
        self,
        client_store: ClientStore,
        entry: ReviewEntry,
        history: tuple[TimelineEntry, ...],
        on_change: Callable[[], Awaitable[None]],
    ) -> None:
        self.client_store = client_store
        self.entry = entry
        self.on_change = on_change
        item, element = entry.item, entry.element
        self.shown_data = pretty_data(element.data)
        self.form_inputs: dict[str, ui.input] = {}
        with (
            tid(ui.dialog(value=True), "review_popup") as self.dialog,
            ui.card().classes("w-full max-w-3xl"),
        ):
            ui.label(f"Review: {element.reference or element.id}").classes("text-xl")
            with ui.grid(columns=2).classes("gap-x-4"):
                for label, value, name in (
                    ("Queue", item.queue_name, "queue"),
                    ("Kind", item.kind, "kind"),
                    ("Reason", item.reason or "", "reason"),
                    ("Waiting since", fmt(item.created_date), "created"),
                    ("Assignee", item.assignee or "nobody", "assignee"),
                    ("State", item.state, "state"),
                    ("Element", str(element.id), "element"),
                ):
                    ui.label(label).classes("text-bold")
                    tid(ui.label(value), f"review_popup_{name}")
                ui.label("Job").classes("text-bold")
                if element.job_id is not None:
                    tid(
                        ui.button(str(element.job_id), on_click=guarded(self.open_job))
                        .props("flat dense no-caps")
                        .classes("q-pa-none"),
                        "review_popup_job_link",
                    ).tooltip("Open the job's logs")
                else:
                    tid(ui.label("none recorded"), "review_popup_job_link")
            self.data_input = tid(
                ui.textarea("Data (a retry may change it)", value=self.shown_data)
                .classes("w-full font-mono")
                .props("autogrow"),
                "review_popup_data_input",
            )
            for name, label in entry.form_fields.items():
                self.form_inputs[name] = tid(
                    ui.input(label, value=str(entry.values.get(name, ""))).classes("w-full"),
                    f"review_popup_form_{name}",
                )
            if item.state == "open":
                self.comment_input = tid(
                    ui.textarea("Comment (required for done, failed and abandon)").classes(
                        "w-full"
                    ),
                    "review_popup_comment_input",
                )
                with ui.row():
                    tid(
                        ui.button("Assign to me", icon="person", on_click=guarded(self.assign)),
                        "review_popup_assign_button",
                    )
                    for decision in ALLOWED_DECISIONS.get(item.kind, ()):
                        color = "negative" if decision in FINAL_DECISIONS else "primary"
                        tid(
                            ui.button(
                                DECISION_LABELS[decision],
                                color=color,
                                on_click=guarded(self._decider(decision)),
                            ),
                            f"review_popup_{decision}_button",
                        )
            else:
                decided = f"{item.decision} by {item.decided_by} on {fmt(item.decided_date)}"
                tid(ui.label(f"Decided: {decided}. {item.comment or ''}"), "review_popup_decided")
            timeline_section(history, "review_popup_history")
            tid(ui.button("Close", on_click=self.dialog.close), "review_popup_close_button")
        forget_on_close(self.dialog)

    def _decider(self, decision: str) -> Callable[[], Awaitable[None]]:
        async def decide() -> None:
            await self.decide(decision)

        return decide

    async def decide(self, decision: str) -> None:
        """Decide the item as the signed-in person; a second decider is told who won."""
        who = current_identity().label
        data = self.data_input.value or ""
        edited = None if data == self.shown_data or decision != "retry" else data
        values = {name: field.value or "" for name, field in self.form_inputs.items()}
        await off_loop(
            self.client_store.store.decide_review_item,
            self.entry.item.id,
            decision,
            self.comment_input.value or None,
            who,
            data=edited,
            form_values=values if decision == "continue" and values else None,
        )
        notify_result(f"Decided: {DECISION_LABELS[decision]}.", "positive")
        self.dialog.close()
        await self.on_change()

    async def assign(self) -> None:
        """Assign the item to the signed-in person."""
        who = current_identity().label
        await off_loop(self.client_store.store.assign_review_item, self.entry.item.id, who)
        notify_result(f"Assigned to {who}.", "positive")
        self.dialog.close()
        await self.on_change()

    async def open_job(self) -> object:
        """Open the logs of the job that last held the element."""
        from openorch.orchestrator.popups.job_logs_popup import JobLogsPopup
        from openorch.orchestrator.rows import job_row

        job_id = self.entry.element.job_id
        assert job_id is not None
        job = await off_loop(self.client_store.store.get_job, job_id)
        return JobLogsPopup(self.client_store, job_row(job), job)


def data_preview(data: str | None, length: int = 80) -> str:
    """An element's data in one short line for the inbox table."""
    if not data:
        return ""
    try:
        text = json.dumps(json.loads(data), ensure_ascii=False)
    except ValueError:
        text = data
    return text if len(text) <= length else text[: length - 1] + "…"

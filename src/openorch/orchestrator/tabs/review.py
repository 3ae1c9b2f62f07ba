"""Review: the elements a person must decide, across queues (issue 27).

Filters (queue, kind, age, assignee, text) narrow the open items; a click opens one
(its data, its job's logs, its history) to assign and decide; "Decide all shown" decides
every item the filters match, after asking. Test ids start with `review_`.
"""

from datetime import datetime, timedelta
from typing import Any

from nicegui import ui

from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import fmt, guarded, notify_result, off_loop, tid
from openorch.orchestrator.popups.generic import forget_on_close
from openorch.orchestrator.popups.review_popup import ReviewPopup, data_preview
from openorch.orchestrator.who import current_identity
from openorch.orchestrator.widgets import paged, quiet_no_data
from openorch.store import ReviewEntry, ReviewFilter
from openorch.store.queues.messages import describe_duration
from openorch.store.queues.review import FINAL_DECISIONS

COLUMNS: list[dict[str, Any]] = [
    {"name": name, "label": label, "field": name, "align": "left", "sortable": True}
    for name, label in (
        ("queue_name", "Queue"),
        ("reference", "Reference"),
        ("kind", "Kind"),
        ("reason", "Reason"),
        ("waiting", "Waiting"),
        ("assignee", "Assignee"),
        ("data", "Data"),
    )
]

#: The age filter's choices: label -> hours (None: any age).
AGE_CHOICES: dict[str, float | None] = {
    "Any age": None,
    "Over 1 hour": 1,
    "Over 8 hours": 8,
    "Over 24 hours": 24,
    "Over 3 days": 72,
}
KIND_CHOICES = {
    "": "Any kind",
    "business": "Business",
    "application": "Application",
    "decision": "Decision",
}
ASSIGNEE_CHOICES = {"any": "Anyone", "me": "Assigned to me", "nobody": "Unassigned"}

#: How many open items the table shows at most (the filters narrow the rest).
SHOWN = 500


def review_rows(entries: tuple[ReviewEntry, ...], now: datetime) -> list[dict[str, Any]]:
    """One row per open item."""
    return [
        {
            "id": str(entry.item.id),
            "queue_name": entry.item.queue_name,
            "reference": entry.element.reference or "",
            "kind": entry.item.kind,
            "reason": entry.item.reason or "",
            "waiting": describe_duration(now - entry.item.created_date),
            "created": fmt(entry.item.created_date),
            "assignee": entry.item.assignee or "",
            "data": data_preview(entry.element.data),
        }
        for entry in entries
    ]


class ReviewTab:
    """The Review panel."""

    def __init__(self, client_store: ClientStore) -> None:
        self.client_store = client_store
        with ui.row().classes("w-full items-end gap-2"):
            self.queue_input = tid(
                ui.input("Queue", on_change=guarded(self.refresh)).props("clearable debounce=400"),
                "review_queue_input",
            )
            self.kind_select = tid(
                ui.select(KIND_CHOICES, value="", label="Kind", on_change=guarded(self.refresh)),
                "review_kind_select",
            ).classes("w-40")
            self.age_select = tid(
                ui.select(
                    list(AGE_CHOICES), value="Any age", label="Age", on_change=guarded(self.refresh)
                ),
                "review_age_select",
            ).classes("w-40")
            self.assignee_select = tid(
                ui.select(
                    ASSIGNEE_CHOICES, value="any", label="Assignee", on_change=guarded(self.refresh)
                ),
                "review_assignee_select",
            ).classes("w-44")
            self.text_input = tid(
                ui.input("Text", on_change=guarded(self.refresh)).props("clearable debounce=400"),
                "review_text_input",
            )
            ui.space()
            tid(
                ui.button("Decide all shown", icon="done_all", on_click=guarded(self.decide_all)),
                "review_decide_all_button",
            ).tooltip("Decide every open item the filters match")
        self.count_label = tid(ui.label(""), "review_count_label")
        self.table = tid(
            ui.table(
                columns=COLUMNS,
                rows=[],
                row_key="id",
                pagination={"rowsPerPage": 50},
                title="Waiting for review",
            ).classes("w-full"),
            "review_table",
        )
        paged(self.table)
        quiet_no_data(self.table, "Nothing waits for a decision.")
        self.table.on("row-click", guarded(lambda e: self.open_item(e.args[1]["id"])))

    def clear_filters(self) -> None:
        """Show every open item (the Overview's backlog link)."""
        self.queue_input.value = ""
        self.kind_select.value = ""
        self.age_select.value = "Any age"
        self.assignee_select.value = "any"
        self.text_input.value = ""

    def current_filter(self) -> ReviewFilter:
        """The filters as the data layer takes them (age in hours, "me" as who I am)."""
        hours = AGE_CHOICES.get(self.age_select.value or "Any age")
        assignee = {"any": None, "me": current_identity().label, "nobody": ""}.get(
            self.assignee_select.value or "any"
        )
        return ReviewFilter(
            queue=(self.queue_input.value or "").strip() or None,
            kind=self.kind_select.value or None,
            assignee=assignee,
            older_than=None if hours is None else timedelta(hours=hours),
            text=(self.text_input.value or "").strip() or None,
        )

    async def refresh(self) -> None:
        """Read the open items the filters match."""
        chosen = self.current_filter()
        store = self.client_store.store
        entries = await off_loop(store.list_review_items, chosen, limit=SHOWN)
        total = await off_loop(store.count_review_items, chosen)
        self.table.rows = review_rows(entries, datetime.now())
        self.table.update()
        more = f" (the oldest {SHOWN} shown)" if total > SHOWN else ""
        self.count_label.text = f"{total} open item{'s' if total != 1 else ''}{more}."

    async def open_item(self, item_id: str) -> ReviewPopup:
        """Open an item, read fresh, with its element's history."""
        store = self.client_store.store
        entry = await off_loop(store.get_review_item, item_id)
        history = await off_loop(store.get_element_history, entry.element.id)
        return ReviewPopup(self.client_store, entry, history, self.refresh)

    async def decide_all(self) -> None:
        """Ask for a decision and a comment, then decide every item the filters match."""
        chosen = self.current_filter()
        count = await off_loop(self.client_store.store.count_review_items, chosen)
        if count == 0:
            notify_result("No open item matches the filters.", "warning")
            return
        with (
            tid(ui.dialog(value=True).props("persistent"), "review_bulk_popup") as dialog,
            ui.card().classes("w-full max-w-xl"),
        ):
            ui.label(f"Decide {count} open item{'s' if count != 1 else ''}").classes("text-lg")
            decision = tid(
                ui.select(
                    {
                        "retry": "Retry",
                        "done": "Done",
                        "failed": "Failed (final)",
                        "abandon": "Abandon",
                    },
                    value="retry",
                    label="Decision",
                ).classes("w-64"),
                "review_bulk_decision_select",
            )
            comment = tid(ui.textarea("Comment").classes("w-full"), "review_bulk_comment_input")
            with ui.row():
                tid(
                    ui.button("Decide", on_click=lambda: dialog.submit(True)),
                    "review_bulk_decide_button",
                )
                tid(
                    ui.button("Cancel", on_click=lambda: dialog.submit(False)),
                    "review_bulk_cancel_button",
                )
        forget_on_close(dialog)
        if not await dialog:
            return
        who = current_identity().label
        chosen_decision = str(decision.value)
        text = comment.value or None
        if chosen_decision in FINAL_DECISIONS and not (text or "").strip():
            raise ValueError(f"A comment is required to decide {chosen_decision!r} (it is final).")
        decided = await off_loop(
            self.client_store.store.decide_review_items, chosen, chosen_decision, text, who
        )
        notify_result(f"{decided} item{'s' if decided != 1 else ''} decided.", "positive")
        await self.refresh()

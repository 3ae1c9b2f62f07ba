"""An element's history as a timeline (the element dialog and the review popup)."""

from typing import Any

from nicegui import ui

from openorch.orchestrator.common import fmt, tid
from openorch.store import TimelineEntry

#: How each event reads on the timeline.
EVENT_LABELS = {
    "created": "Created",
    "claimed": "Claimed",
    "released": "Released",
    "retried": "Retried",
    "failed": "Failed",
    "review": "Sent to review",
    "decided": "Decided",
    "edited": "Edited by an admin",
    "abandoned": "Abandoned",
    "done": "Done",
}


def timeline_rows(entries: tuple[TimelineEntry, ...]) -> list[dict[str, Any]]:
    """One row per event, oldest first: when, what, who and the details in one line."""
    return [
        {
            "id": index,
            "at": fmt(entry.at),
            "event": EVENT_LABELS.get(entry.event, entry.event),
            "actor": entry.actor or "",
            "details": entry.summary(),
        }
        for index, entry in enumerate(entries)
    ]


def timeline_section(entries: tuple[TimelineEntry, ...], test_id: str) -> ui.timeline:
    """The history as a vertical timeline; test id `test_id` (its rows: `rows` attribute
    of the returned element's `entries`)."""
    ui.label("History").classes("text-bold")
    with tid(ui.timeline(side="right").props("dense"), test_id) as timeline:
        for row in timeline_rows(entries):
            ui.timeline_entry(
                row["details"],
                title=row["event"],
                subtitle=f"{row['at']}" + (f" · {row['actor']}" if row["actor"] else ""),
            )
    timeline.rows = timeline_rows(entries)  # type: ignore[attr-defined]
    return timeline

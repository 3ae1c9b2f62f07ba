"""Audit: who did what, newest first, paged on the server; filters by person, action,
kind of object, object, source, time and text. A click shows the row with the object
before and after the write (secrets were masked when it was recorded).

Times are stored in UTC and shown in UTC (the column says so): the trail is shared by
people in several time zones, and one clock avoids "which time was that?".
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nicegui import ui

from openorch.database import AuditEntry
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import ALL, cut, fmt, guarded, off_loop, tid
from openorch.orchestrator.popups.generic import forget_on_close
from openorch.orchestrator.widgets import DatetimeInput, Page, ServerTable
from openorch.store.audit import SOURCES

COLUMNS: list[dict[str, Any]] = [
    {"name": "at", "label": "Time (UTC)", "field": "at", "align": "left", "sortable": True},
    {"name": "actor", "label": "Who", "field": "actor", "align": "left", "sortable": True},
    {"name": "action", "label": "Action", "field": "action", "align": "left", "sortable": True},
    {
        "name": "object_kind",
        "label": "Kind",
        "field": "object_kind",
        "align": "left",
        "sortable": True,
    },
    {
        "name": "object_name",
        "label": "Object",
        "field": "object_name",
        "align": "left",
        "sortable": True,
        "style": "white-space: normal; max-width: 20rem",
    },
    {
        "name": "summary",
        "label": "What",
        "field": "summary",
        "align": "left",
        "style": "white-space: normal; max-width: 28rem",
    },
    {"name": "source", "label": "Through", "field": "source", "align": "left", "sortable": True},
]


def _pretty(text: str | None) -> str:
    """A stored snapshot as indented JSON (the text as it is if it is not JSON)."""
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return text


def changed_fields(before: str | None, after: str | None) -> list[str]:
    """The fields whose value differs between the two snapshots, sorted."""
    try:
        old = json.loads(before) if before else {}
        new = json.loads(after) if after else {}
    except ValueError:
        return []
    if not isinstance(old, dict) or not isinstance(new, dict):
        return []
    if not old or not new:
        return []
    return sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    """One table row; the snapshots ride along for the popup."""
    role = f", {entry.actor_role}" if entry.actor_role else ""
    return {
        "id": str(entry.id),
        "at": fmt(entry.at),
        "actor": entry.actor,
        "actor_detail": f"{entry.actor} — signed in with {entry.actor_method}{role}",
        "action": entry.action,
        "object_kind": entry.object_kind,
        "object_id": entry.object_id or "",
        "object_name": cut(entry.object_name or entry.object_id or "", 80),
        "object_name_full": entry.object_name or "",
        "summary": cut(entry.summary or "", 100),
        "summary_full": entry.summary or "",
        "source": entry.source,
        "before": _pretty(entry.before),
        "after": _pretty(entry.after),
        "changed": ", ".join(changed_fields(entry.before, entry.after)),
    }


def audit_popup(row: dict[str, Any]) -> ui.dialog:
    """One row in full: who, what, which object, and the object before and after."""
    with tid(ui.dialog(value=True), "audit_popup") as dialog, ui.card().classes("w-full max-w-5xl"):
        ui.label("Audit entry").classes("text-xl")
        with ui.grid(columns=2).classes("gap-x-4 gap-y-1"):
            for label, key in (
                ("Time (UTC)", "at"),
                ("Who", "actor_detail"),
                ("Action", "action"),
                ("Kind", "object_kind"),
                ("Object", "object_name_full"),
                ("Object ID", "object_id"),
                ("What", "summary_full"),
                ("Through", "source"),
                ("Changed", "changed"),
            ):
                ui.label(label).classes("text-bold")
                tid(ui.label(str(row.get(key) or "")), f"audit_popup_{key}")
        with ui.row().classes("w-full no-wrap gap-4 items-start"):
            for title, key in (("Before", "before"), ("After", "after")):
                with ui.column().classes("w-1/2"):
                    ui.label(title).classes("text-bold")
                    # ui.label sets text, never HTML: a value holding markup shows as text.
                    tid(
                        ui.label(row.get(key) or "(nothing)").classes(
                            "whitespace-pre-wrap font-mono text-xs q-pa-sm rounded-borders "
                            "bg-grey-2 text-black w-full break-all"
                        ),
                        f"audit_popup_{key}",
                    )
        tid(ui.button("Close", on_click=dialog.close), "audit_popup_close_button")
    forget_on_close(dialog)
    return dialog


@dataclass
class AuditFilter:
    """What the Audit tab narrows the trail to (None: no filter)."""

    actor: str | None = None
    action: str | None = None
    object_kind: str | None = None
    source: str | None = None
    object_text: str | None = None
    text: str | None = None
    from_time: datetime | None = None
    to_time: datetime | None = None


def _chosen(select: ui.select) -> str | None:
    value = select.value
    return None if value in (None, "", ALL) else str(value)


class AuditTab:
    """The Audit panel."""

    def __init__(self, client_store: ClientStore) -> None:
        self.client_store = client_store
        on_filter = guarded(self.filter_changed)
        ui.label(
            "Every write made in the Orchestrator or through the HTTP API: who, what, which "
            "object, and when (UTC). Click a row for the object before and after."
        ).classes("text-sm")
        with ui.row().classes("items-start gap-4"):
            self.actor_select = self._select("Who", "audit_actor_select", on_filter)
            self.action_select = self._select("Action", "audit_action_select", on_filter)
            self.kind_select = self._select("Kind", "audit_kind_select", on_filter)
            self.source_select = self._select("Through", "audit_source_select", on_filter)
            self.source_select.set_options([ALL, *SOURCES], value=ALL)
        with ui.row().classes("items-start gap-4"):
            self.object_input = tid(
                ui.input("Object (name or id)", on_change=on_filter).props(
                    "clearable debounce=400"
                ),
                "audit_object_input",
            )
            self.text_input = tid(
                ui.input("Search", on_change=on_filter).props("clearable debounce=400"),
                "audit_search_input",
            )
            self.from_input = DatetimeInput("From (UTC)", "audit_from", on_change=on_filter)
            self.to_input = DatetimeInput("To (UTC)", "audit_to", on_change=on_filter)
        self.server = ServerTable(
            COLUMNS,
            self.fetch,
            "audit_table",
            title="Audit trail",
            rows_per_page=50,
            sort_by="at",
            descending=True,
            on_row_click=audit_popup,
        )

    @staticmethod
    def _select(label: str, marker: str, on_change: Callable[..., Any]) -> ui.select:
        return tid(
            ui.select([ALL], value=ALL, label=label, on_change=on_change).classes("w-48"),
            marker,
        )

    def current_filter(self) -> AuditFilter:
        """The filters as entered (a bad date raises ValueError naming the field)."""
        return AuditFilter(
            actor=_chosen(self.actor_select),
            action=_chosen(self.action_select),
            object_kind=_chosen(self.kind_select),
            source=_chosen(self.source_select),
            object_text=(self.object_input.value or "").strip() or None,
            text=(self.text_input.value or "").strip() or None,
            from_time=self.from_input.get_datetime(),
            to_time=self.to_input.get_datetime(),
        )

    def fetch(self, page: Page) -> tuple[list[dict[str, Any]], int]:
        """One page of the trail (runs in a worker thread)."""
        wanted = self.current_filter()
        entries, total = self.client_store.store.get_audit(
            page.offset,
            page.limit,
            actor=wanted.actor,
            action=wanted.action,
            object_kind=wanted.object_kind,
            source=wanted.source,
            object_text=wanted.object_text,
            text=wanted.text,
            from_time=wanted.from_time,
            to_time=wanted.to_time,
            order_by=page.sort_by or "at",
            order_desc=page.descending,
        )
        return [audit_row(entry) for entry in entries], total

    async def filter_changed(self) -> None:
        """A filter changed: back to the first page."""
        if self.client_store.connected:
            self.server.first_page()
            await self.server.refresh()

    async def refresh(self) -> None:
        """Refresh the filter choices and the current page."""
        choices = await off_loop(self.client_store.store.get_audit_choices)
        for select, key in (
            (self.actor_select, "actor"),
            (self.action_select, "action"),
            (self.kind_select, "object_kind"),
        ):
            options = [ALL, *choices.get(key, ())]
            if select.value not in options:
                options.append(select.value)
            select.set_options(options, value=select.value)
        await self.server.refresh()

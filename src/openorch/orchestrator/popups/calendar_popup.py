"""Business calendars (issue 28): named sets of non-working days that scheduled and queue
triggers follow. Opened from the Triggers tab's "Calendars" button.

Days are typed by hand (YYYY-MM-DD, several separated by commas) or filled with the public
holidays of a country and region from the `holidays` package. Every rule (dates, country
codes, names, "in use") is the data layer's; this popup only reads the form.
"""

import re
from typing import Any

from nicegui import ui

from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import guarded, off_loop, tid
from openorch.orchestrator.popups.generic import forget_on_close, question_popup

DAY_COLUMNS: list[dict[str, Any]] = [
    {"name": "day", "label": "Date", "field": "day", "align": "left", "sortable": True},
    {"name": "weekday", "label": "Day", "field": "weekday", "align": "left"},
    {"name": "description", "label": "Description", "field": "description", "align": "left"},
    {"name": "source", "label": "Source", "field": "source", "align": "left"},
]


def parse_years(text: str) -> list[int]:
    """ "2026, 2027" or "2026-2028" → the years.

    Raises:
        ValueError: anything else.
    """
    years: list[int] = []
    for part in (piece.strip() for piece in (text or "").split(",")):
        if not part:
            continue
        match = re.fullmatch(r"(\d{4})(?:\s*-\s*(\d{4}))?", part)
        if match is None:
            raise ValueError(f"Years must be like 2026, 2027 or 2026-2028; got {part!r}.")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if last < first:
            raise ValueError(f"Years: {part!r} runs backwards.")
        years.extend(range(first, min(last, first + 100) + 1))
    if not years:
        raise ValueError("Years is required, e.g. 2026-2027.")
    return years


class CalendarPopup:
    """List, create, fill and delete calendars. Test ids start with `calendar_popup_`."""

    def __init__(self, client_store: ClientStore) -> None:
        self.client_store = client_store
        self.selected: str | None = None
        with (
            tid(ui.dialog(value=True), "calendar_popup") as self.dialog,
            ui.card().classes("w-full max-w-4xl"),
        ):
            ui.label("Calendars (non-working days)").classes("text-xl")
            with ui.row().classes("w-full items-center"):
                self.name_input = tid(
                    ui.input("New calendar name").classes("grow"), "calendar_popup_name_input"
                )
                tid(
                    ui.button("Create", icon="add", on_click=guarded(self.create)),
                    "calendar_popup_create_button",
                )
            self.calendar_select = tid(
                ui.select({}, label="Calendar").classes("w-full"), "calendar_popup_select"
            )
            self.calendar_select.on_value_change(guarded(self._selected))
            self.summary = tid(ui.label(""), "calendar_popup_summary")
            with ui.row().classes("w-full items-center"):
                self.days_input = tid(
                    ui.input("Dates (YYYY-MM-DD, separated by commas)").classes("grow"),
                    "calendar_popup_days_input",
                )
                self.description_input = tid(
                    ui.input("Description").classes("w-48"), "calendar_popup_description_input"
                )
                tid(
                    ui.button("Add days", on_click=guarded(self.add_days)),
                    "calendar_popup_add_button",
                )
            with ui.row().classes("w-full items-center"):
                self.country_input = tid(
                    ui.input("Country (e.g. DK)").classes("w-32"), "calendar_popup_country_input"
                )
                self.region_input = tid(
                    ui.input("Region (optional)").classes("w-32"), "calendar_popup_region_input"
                )
                self.years_input = tid(
                    ui.input("Years (e.g. 2026-2027)").classes("w-48"), "calendar_popup_years_input"
                )
                tid(
                    ui.button("Fill public holidays", on_click=guarded(self.fill)),
                    "calendar_popup_fill_button",
                )
            self.table = tid(
                ui.table(columns=DAY_COLUMNS, rows=[], row_key="day", selection="multiple")
                .props("dense")
                .classes("w-full"),
                "calendar_popup_days_table",
            )
            with ui.row():
                tid(
                    ui.button("Remove selected days", on_click=guarded(self.remove_days)),
                    "calendar_popup_remove_button",
                )
                tid(
                    ui.button("Delete calendar", color="negative", on_click=guarded(self.delete)),
                    "calendar_popup_delete_button",
                )
                tid(ui.button("Close", on_click=self.dialog.close), "calendar_popup_close_button")
            ui.timer(0.01, guarded(self.refresh), once=True)
        forget_on_close(self.dialog)

    def _require(self) -> str:
        if not self.selected:
            raise ValueError("Choose or create a calendar first.")
        return self.selected

    async def refresh(self) -> None:
        """Reload the calendar list and the chosen calendar's days."""
        store = self.client_store.store
        calendars = await off_loop(store.get_calendars)
        options = {str(item.id): item.name for item in calendars}
        if self.selected not in options:
            self.selected = next(iter(options), None)
        self.calendar_select.set_options(options, value=self.selected)
        chosen = next((item for item in calendars if str(item.id) == self.selected), None)
        if chosen is None:
            self.summary.text = "No calendar yet: create one."
            self.table.rows = []
            return
        where = f" · holidays of {chosen.country}" if chosen.country else ""
        region = f"-{chosen.subdivision}" if chosen.subdivision else ""
        years = f" ({chosen.years})" if chosen.years else ""
        self.summary.text = (
            f"{chosen.day_count} days{where}{region}{years} · used by {chosen.used_by} trigger(s)"
        )
        days = await off_loop(store.get_calendar_days, chosen.id)
        self.table.rows = [
            {
                "day": day.day.isoformat(),
                "weekday": day.day.strftime("%a"),
                "description": day.description or "",
                "source": day.source,
            }
            for day in days
        ]
        self.table.selected = []

    async def _selected(self) -> None:
        value = self.calendar_select.value
        if value and value != self.selected:
            self.selected = str(value)
            await self.refresh()

    async def create(self) -> None:
        """Create an empty calendar and show it."""
        name = (self.name_input.value or "").strip()
        key = await off_loop(self.client_store.store.create_calendar, name)
        self.selected = str(key)
        self.name_input.value = ""
        ui.notify(f"Calendar '{name}' created.", type="positive")
        await self.refresh()

    async def add_days(self) -> None:
        """Add the typed dates (all checked first: one bad date adds none)."""
        key = self._require()
        days = [part.strip() for part in (self.days_input.value or "").split(",") if part.strip()]
        if not days:
            raise ValueError("Type one or more dates as YYYY-MM-DD.")
        added = await off_loop(
            self.client_store.store.add_calendar_days,
            key,
            days,
            (self.description_input.value or "").strip() or None,
        )
        self.days_input.value = ""
        ui.notify(f"{added} day(s) added.", type="positive")
        await self.refresh()

    async def fill(self) -> None:
        """Add the public holidays of a country (and region) for the typed years."""
        key = self._require()
        years = parse_years(self.years_input.value or "")
        added = await off_loop(
            self.client_store.store.fill_public_holidays,
            key,
            (self.country_input.value or "").strip(),
            years,
            (self.region_input.value or "").strip() or None,
        )
        ui.notify(f"{added} public holiday(s) added.", type="positive")
        await self.refresh()

    async def remove_days(self) -> None:
        """Remove the ticked days."""
        key = self._require()
        days = [row["day"] for row in self.table.selected]
        if not days:
            raise ValueError("Tick the days to remove first.")
        removed = await off_loop(self.client_store.store.remove_calendar_days, key, days)
        ui.notify(f"{removed} day(s) removed.", type="positive")
        await self.refresh()

    async def delete(self) -> None:
        """Delete the calendar after asking (refused while triggers follow it)."""
        key = self._require()
        name = self.calendar_select.options.get(key, key)  # type: ignore[union-attr]
        if not await question_popup(f"Delete calendar '{name}'?", "Delete", yes_color="negative"):
            return
        await off_loop(self.client_store.store.delete_calendar, key)
        ui.notify(f"Calendar '{name}' deleted.", type="positive")
        self.selected = None
        await self.refresh()

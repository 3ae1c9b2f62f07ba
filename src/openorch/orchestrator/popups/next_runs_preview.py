"""The trigger dialog's "next ten runs" preview (issue 28), its own small widget.

It shows what a Scheduler will do with the rule as typed (cron, time zone, calendar and
rule), computed by the data layer's one function (`Store.preview_next_runs`), in the
trigger's zone and in the admin's browser's zone. A rule that does not parse shows the
data layer's message instead of times, so a bad zone name is named before Save.
"""

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from nicegui import ui

from openorch.orchestrator.common import off_loop, tid
from openorch.store import Store

#: How many runs the preview lists.
PREVIEW_COUNT = 10

#: Asked of the browser once per dialog (the admin's own zone).
BROWSER_ZONE_JS = "Intl.DateTimeFormat().resolvedOptions().timeZone"


def run_text(moment: datetime, zone: str | None, browser_zone: str | None) -> str:
    """One preview line: the run in the trigger's zone, then in the browser's."""
    local = moment.astimezone()
    shown = local if zone is None else local.astimezone(ZoneInfo(zone))
    text = shown.strftime("%a %d-%m-%Y %H:%M %Z")
    if browser_zone and browser_zone != zone:
        try:
            there = local.astimezone(ZoneInfo(browser_zone))
        except (ValueError, KeyError):
            return text
        text += f"  ·  {there.strftime('%a %H:%M %Z')} in your browser ({browser_zone})"
    return text


class NextRunsPreview:
    """A titled list of the next runs; test ids `<marker>_row`, `<marker>_error`."""

    def __init__(self, marker: str = "trigger_popup_preview") -> None:
        self.browser_zone: str | None = None
        self.lines: list[str] = []
        self.error_text = ""
        self._generation = 0
        with tid(ui.column().classes("w-full gap-0"), marker) as self.container:
            ui.label(f"Next {PREVIEW_COUNT} runs").classes("text-sm font-bold")
            self.error = tid(ui.label("").classes("text-negative text-sm"), f"{marker}_error")
            self.list = ui.column().classes("gap-0")
        self._marker = marker

    async def detect_browser_zone(self) -> None:
        """Ask the browser for its IANA zone (kept None when it does not answer)."""
        try:
            value = await ui.run_javascript(BROWSER_ZONE_JS, timeout=3)
        except (TimeoutError, RuntimeError):
            return
        self.browser_zone = value if isinstance(value, str) and value else None

    async def update(
        self,
        store: Store,
        cron_expr: str,
        time_zone: str | None,
        calendar_id: str | None,
        calendar_rule: str | None,
    ) -> list[datetime]:
        """Recompute and show; returns the runs (empty on an error or none)."""
        self._generation += 1
        generation = self._generation
        try:
            runs = await off_loop(
                store.preview_next_runs,
                cron_expr,
                time_zone or None,
                calendar_id or None,
                calendar_rule or None,
                PREVIEW_COUNT,
            )
            error = "" if runs else "No run: the calendar leaves none within a year."
        except ValueError as problem:
            runs, error = [], str(problem)
        except asyncio.CancelledError:
            raise
        if generation != self._generation:
            return runs  # a later keystroke is being shown
        zone = (time_zone or "").strip() or None
        self.lines = [run_text(moment, zone, self.browser_zone) for moment in runs]
        self.error_text = error
        self.error.text = error
        self.list.clear()
        with self.list:
            for line in self.lines:
                tid(ui.label(line).classes("text-sm font-mono"), f"{self._marker}_row")
        return runs

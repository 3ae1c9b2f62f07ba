"""The page frame: header with the tabs, dark-mode toggle and refresh button, the tab
panels, auto-refresh of the shown tab and the leave-page confirmation."""

import json
import threading
import weakref
from datetime import datetime
from typing import Any, Protocol

from nicegui import Client, events, ui

from openorch.config import ConnectionSettings
from openorch.identity import TOKEN_ADMIN, Identity
from openorch.masking import mask
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import guarded, tid
from openorch.orchestrator.sign_out import sign_out_section
from openorch.orchestrator.tabs.alerts import AlertsTab
from openorch.orchestrator.tabs.api import ApiTab
from openorch.orchestrator.tabs.audit import AuditTab
from openorch.orchestrator.tabs.constants import ConstantsTab
from openorch.orchestrator.tabs.jobs import JobsTab
from openorch.orchestrator.tabs.logs import LogsTab
from openorch.orchestrator.tabs.overview import OverviewTab
from openorch.orchestrator.tabs.queues import QueuesTab
from openorch.orchestrator.tabs.review import ReviewTab
from openorch.orchestrator.tabs.schedulers import SchedulersTab
from openorch.orchestrator.tabs.settings import SettingsTab
from openorch.orchestrator.tabs.triggers import TriggersTab

#: The header's tabs, in the original Orchestrator's order; Overview (shown only while
#: connected) comes first; openorch's Review tab follows Queues, its API, Alerts and Audit
#: tabs sit before Settings.
TAB_NAMES = (
    "Overview",
    "Triggers",
    "Queues",
    "Review",
    "Schedulers",
    "Jobs",
    "Logs",
    "Constants",
    "API",
    "Alerts",
    "Audit",
    "Settings",
)

#: The tab a page shows once connected.
FIRST_TAB = "Overview"

#: Where the browser remembers dark mode (localStorage key).
DARK_KEY = "openorch.dark"

#: Seconds between automatic refreshes of the shown tab (while the window has focus).
AUTO_REFRESH_SECONDS = 10.0

#: Tells the server whether the window has focus (no round trip per timer tick), and asks
#: before leaving the page so a half-filled form is not lost by accident (not when the
#: session ended: `window.openorchLeaving`). Part of the page's first HTML (main.py):
#: a script added once the page is shown would not run.
PAGE_SCRIPT = """
<script>
  // A focus change can come before NiceGUI has defined emitEvent (while reloading).
  const openorchFocus = () => {
    if (typeof emitEvent === 'function') emitEvent('openorch_focus', document.hasFocus());
  };
  window.addEventListener('focus', openorchFocus);
  window.addEventListener('blur', openorchFocus);
  window.addEventListener('beforeunload', (event) => {
    if (window.openorchLeaving) return;
    event.preventDefault();
    event.returnValue = '';
  });
</script>
"""


#: The page object of every open client (for diagnostics and the speed measurements).
PAGES: "weakref.WeakKeyDictionary[Client, OrchestratorPage]" = weakref.WeakKeyDictionary()


class Refreshable(Protocol):
    """What every data tab offers the frame."""

    async def refresh(self) -> None:
        """Fetch the tab's data again."""


#: Quasar's brand colours, dark enough for white text at WCAG AA (4.5:1): NiceGUI's
#: default blue, Quasar's green and cyan gave white labels 3.1, 2.6 and 1.9.
BRAND_COLORS = {
    "primary": "#1f5f9e",
    "positive": "#1b7d36",
    "info": "#0b6e8a",
    "negative": "#c10015",
}

#: Text coloured with a brand colour on dark mode's near-black background needs the
#: colour's light variant (the brand colours themselves read 2.6-3.2 there; grey-7 3.7).
#: In NiceGUI's first cascade layer: for `!important` rules the first layer wins, and
#: Quasar's colour classes are `!important` in a later one.
DARK_MODE_CSS = """
@layer theme {
  .body--dark .text-primary { color: #8ab4f8 !important; }
  .body--dark .text-negative { color: #ff8a80 !important; }
  .body--dark .text-positive { color: #81c995 !important; }
  .body--dark .text-info { color: #78d9ec !important; }
  .body--dark .text-grey-7, .body--dark .text-grey-8 { color: #bdbdbd !important; }
}
"""


class OrchestratorPage:
    """One browser tab's Orchestrator: its own data-layer handle (`ClientStore`), header,
    panels and timer."""

    def __init__(
        self,
        defaults: ConnectionSettings | None,
        startup_error: str | None = None,
        identity: Identity = TOKEN_ADMIN,
    ) -> None:
        self.identity = identity
        self.client_store = ClientStore(identity=identity)
        self.has_focus = True
        PAGES[ui.context.client] = self
        ui.context.client.on_delete(self._close_store)
        self.dark = ui.dark_mode(on_change=self._remember_dark)
        ui.colors(**BRAND_COLORS)
        ui.add_css(DARK_MODE_CSS)
        with ui.header().classes("items-center"):
            with tid(ui.tabs(), "header_tabs") as self.tabs:
                self.tab_buttons = {
                    name: tid(ui.tab(name), f"tab_{name.lower()}") for name in TAB_NAMES
                }
            ui.space()
            tid(
                ui.label(f"{identity.label} · {identity.role}").classes("text-body2"),
                "signed_in_as",
            ).tooltip("Who is signed in to this page, and their role")
            tid(
                ui.button(icon="contrast", on_click=self.dark.toggle).props("flat color=white"),
                "dark_mode_button",
            ).tooltip("Dark mode")
            tid(
                ui.button(icon="refresh", on_click=guarded(self.refresh_manually)).props(
                    "flat color=white"
                ),
                "refresh_button",
            ).tooltip("Refresh")
        with tid(
            ui.tab_panels(self.tabs, value="Settings", on_change=guarded(self.refresh_manually)),
            "tab_panels",
        ).classes("w-full") as self.panels:
            self.tab_objects: dict[str, Refreshable] = {}
            with ui.tab_panel("Overview"):
                self.overview = OverviewTab(self.client_store, self.navigate, self.open_queue)
                self.tab_objects["Overview"] = self.overview
            with ui.tab_panel("Triggers"):
                self.triggers = TriggersTab(self.client_store)
                self.tab_objects["Triggers"] = self.triggers
            with ui.tab_panel("Queues"):
                self.queues = QueuesTab(self.client_store)
                self.tab_objects["Queues"] = self.queues
            with ui.tab_panel("Review"):
                self.review = ReviewTab(self.client_store)
                self.tab_objects["Review"] = self.review
            with ui.tab_panel("Schedulers"):
                self.tab_objects["Schedulers"] = SchedulersTab(self.client_store)
            with ui.tab_panel("Jobs"):
                self.jobs = JobsTab(self.client_store, self.show_logs)
                self.tab_objects["Jobs"] = self.jobs
            with ui.tab_panel("Logs"):
                self.logs = LogsTab(self.client_store)
                self.tab_objects["Logs"] = self.logs
            with ui.tab_panel("Constants"):
                self.tab_objects["Constants"] = ConstantsTab(self.client_store)
            with ui.tab_panel("API"):
                self.tab_objects["API"] = ApiTab(self.client_store)
            with ui.tab_panel("Alerts"):
                self.alerts = AlertsTab(self.client_store)
                self.tab_objects["Alerts"] = self.alerts
            with ui.tab_panel("Audit"):
                self.tab_objects["Audit"] = AuditTab(self.client_store)
            with ui.tab_panel("Settings"):
                self.settings = SettingsTab(
                    self.client_store, defaults, self.connected, self.disconnected
                )
                sign_out_section(self.client_store)
                self.tab_objects["Settings"] = self.settings
        self.tab_buttons["Overview"].visible = False
        ui.on("openorch_focus", self._on_focus)
        self.timer = ui.timer(AUTO_REFRESH_SECONDS, guarded(self.auto_refresh))
        self.starting = False
        ui.timer(0, self._restore_dark, once=True)
        if startup_error:
            ui.timer(
                0.05,
                lambda: ui.notify(
                    mask(startup_error), type="negative", multi_line=True, close_button=True
                ),
                once=True,
            )
        elif defaults is not None and defaults.local:
            # Local mode: nothing to type, so connect straight away and open the first
            # real tab instead of Settings.
            ui.timer(0.05, guarded(self._connect_at_start), once=True)

    def _close_store(self) -> None:
        """Close the gone tab's store in a thread of its own, never on the event loop:
        closing the last connection to a SQLite file checkpoints its WAL into the
        database, which must not hold up every other tab's requests."""
        threading.Thread(target=self.client_store.disconnect, name="openorch-close-store").start()

    async def _connect_at_start(self) -> None:
        self.starting = True
        try:
            await self.settings.connect()
        finally:
            self.starting = False

    async def connected(self) -> None:
        """After Connect: offer Overview; at start-up (local mode) open it at once."""
        self.tab_buttons["Overview"].visible = True
        if self.starting:
            self.panels.value = FIRST_TAB  # its on_change refreshes it
        else:
            await self.refresh()

    def disconnected(self) -> None:
        """After Disconnect: Overview has nothing to show."""
        self.tab_buttons["Overview"].visible = False
        if self.shown_tab == "Overview":
            self.panels.value = "Settings"

    async def navigate(
        self,
        tab: str,
        *,
        status: str | None = None,
        process_name: str | None = None,
        level: str | None = None,
        from_date: datetime | None = None,
        search: str | None = None,
        open_only: bool = False,
    ) -> None:
        """Show `tab` filtered to what an Overview figure counts."""
        if tab == "Jobs":
            self.jobs.apply_filter(status, process_name, from_date)
        elif tab == "Logs":
            self.logs.apply_filter(level, from_date, process_name)
        elif tab == "Triggers":
            self.triggers.search_input.value = search or ""
        elif tab == "Alerts":
            self.alerts.apply_filter(open_only)
        elif tab == "Review":
            self.review.clear_filters()
        if self.shown_tab == tab:
            await self.refresh()
        else:
            self.panels.value = tab

    async def show_logs(self, from_date: datetime, to_date: datetime) -> None:
        """Show every process's logs between two times (a job's "logs around this time")."""
        self.logs.apply_filter(from_date=from_date, to_date=to_date)
        if self.shown_tab == "Logs":
            await self.refresh()
        else:
            self.panels.value = "Logs"

    async def open_queue(self, queue_name: str, status: str | None = None) -> Any:
        """Open a queue's element dialog over the Queues tab, filtered to `status`."""
        self.panels.value = "Queues"
        return await self.queues.open_queue(queue_name, status)

    def _remember_dark(self, event: events.ValueChangeEventArguments) -> None:
        ui.run_javascript(
            f"localStorage.setItem({json.dumps(DARK_KEY)}, {json.dumps(json.dumps(event.value))})"
        )

    async def _restore_dark(self) -> None:
        """Dark mode as this browser last left it (kept in its localStorage)."""
        client = ui.context.client
        try:
            await client.connected(timeout=10)
            stored = await ui.run_javascript(
                f"localStorage.getItem({json.dumps(DARK_KEY)})", timeout=5
            )
        except (TimeoutError, RuntimeError):
            return
        if stored == "true" and not self.dark.value:
            self.dark.value = True

    @property
    def shown_tab(self) -> str:
        """The name of the tab on screen."""
        return str(self.panels.value)

    def _on_focus(self, event: events.GenericEventArguments) -> None:
        self.has_focus = bool(event.args)

    async def refresh(self) -> None:
        """Refresh the shown tab (nothing to do while disconnected)."""
        tab = self.tab_objects.get(self.shown_tab)
        if tab is not None and self.client_store.connected:
            await tab.refresh()

    async def refresh_manually(self) -> None:
        """Refresh on tab change or the refresh button; say so when not connected."""
        if self.shown_tab != "Settings" and not self.client_store.connected:
            ui.notify(
                "Not connected to a database: open Settings and press Connect.", type="warning"
            )
            return
        await self.refresh()

    async def auto_refresh(self) -> None:
        """The timer's tick: refresh only while the window has focus."""
        if self.has_focus:
            await self.refresh()

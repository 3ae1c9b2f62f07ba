"""The page frame: header with the tabs, dark-mode toggle and refresh button, the tab
panels, auto-refresh of the shown tab and the leave-page confirmation."""

import weakref
from typing import Protocol

from nicegui import Client, events, ui

from openorch.config import ConnectionSettings
from openorch.masking import mask
from openorch.orchestrator.common import guarded, tid
from openorch.orchestrator.connection import Connection
from openorch.orchestrator.tabs.alerts import AlertsTab
from openorch.orchestrator.tabs.api import ApiTab
from openorch.orchestrator.tabs.constants import ConstantsTab
from openorch.orchestrator.tabs.jobs import JobsTab
from openorch.orchestrator.tabs.logs import LogsTab
from openorch.orchestrator.tabs.queues import QueuesTab
from openorch.orchestrator.tabs.schedulers import SchedulersTab
from openorch.orchestrator.tabs.settings import SettingsTab
from openorch.orchestrator.tabs.triggers import TriggersTab

#: The header's tabs, in order.
TAB_NAMES = (
    "Triggers", "Logs", "Jobs", "Constants", "Schedulers", "Queues", "API", "Alerts", "Settings"
)

#: Seconds between automatic refreshes of the shown tab (while the window has focus).
AUTO_REFRESH_SECONDS = 10.0

# Tells the server whether the window has focus (no round trip per timer tick), and asks
# before leaving the page so a half-filled form is not lost by accident.
_PAGE_SCRIPT = """
<script>
  const openorchFocus = () => emitEvent('openorch_focus', document.hasFocus());
  window.addEventListener('focus', openorchFocus);
  window.addEventListener('blur', openorchFocus);
  window.addEventListener('beforeunload', (event) => {
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


class OrchestratorPage:
    """One browser tab's Orchestrator: its own connection, header, panels and timer."""

    def __init__(
        self, defaults: ConnectionSettings | None, startup_error: str | None = None
    ) -> None:
        self.connection = Connection()
        self.has_focus = True
        PAGES[ui.context.client] = self
        ui.context.client.on_delete(self.connection.disconnect)
        ui.page_title("Orchestrator")
        dark = ui.dark_mode()
        with ui.header().classes("items-center"):
            with tid(ui.tabs(), "header_tabs") as self.tabs:
                for name in TAB_NAMES:
                    tid(ui.tab(name), f"tab_{name.lower()}")
            ui.space()
            tid(ui.button(icon="contrast", on_click=dark.toggle).props("flat color=white"),
                "dark_mode_button").tooltip("Dark mode")
            tid(ui.button(icon="refresh", on_click=guarded(self.refresh_manually))
                .props("flat color=white"), "refresh_button").tooltip("Refresh")
        with tid(ui.tab_panels(self.tabs, value="Settings",
                               on_change=guarded(self.refresh_manually)), "tab_panels") \
                .classes("w-full") as self.panels:
            self.tab_objects: dict[str, Refreshable] = {}
            with ui.tab_panel("Triggers"):
                self.tab_objects["Triggers"] = TriggersTab(self.connection)
            with ui.tab_panel("Logs"):
                self.tab_objects["Logs"] = LogsTab(self.connection)
            with ui.tab_panel("Jobs"):
                self.tab_objects["Jobs"] = JobsTab(self.connection)
            with ui.tab_panel("Constants"):
                self.tab_objects["Constants"] = ConstantsTab(self.connection)
            with ui.tab_panel("Schedulers"):
                self.tab_objects["Schedulers"] = SchedulersTab(self.connection)
            with ui.tab_panel("Queues"):
                self.tab_objects["Queues"] = QueuesTab(self.connection)
            with ui.tab_panel("API"):
                self.tab_objects["API"] = ApiTab(self.connection)
            with ui.tab_panel("Alerts"):
                self.tab_objects["Alerts"] = AlertsTab(self.connection)
            with ui.tab_panel("Settings"):
                self.settings = SettingsTab(self.connection, defaults, self.refresh)
        ui.add_body_html(_PAGE_SCRIPT)
        ui.on("openorch_focus", self._on_focus)
        self.timer = ui.timer(AUTO_REFRESH_SECONDS, guarded(self.auto_refresh))
        if startup_error:
            ui.timer(0.05, lambda: ui.notify(mask(startup_error), type="negative", multi_line=True,
                                              close_button=True), once=True)
        elif defaults is not None and defaults.local:
            # Local mode: nothing to type, so connect straight away.
            ui.timer(0.05, guarded(self.settings.connect), once=True)

    @property
    def shown_tab(self) -> str:
        """The name of the tab on screen."""
        return str(self.panels.value)

    def _on_focus(self, event: events.GenericEventArguments) -> None:
        self.has_focus = bool(event.args)

    async def refresh(self) -> None:
        """Refresh the shown tab (nothing to do on Settings or while disconnected)."""
        tab = self.tab_objects.get(self.shown_tab)
        if tab is not None and self.connection.connected:
            await tab.refresh()

    async def refresh_manually(self) -> None:
        """Refresh on tab change or the refresh button; say so when not connected."""
        if self.shown_tab != "Settings" and not self.connection.connected:
            ui.notify("Not connected to a database: open Settings and press Connect.",
                      type="warning")
            return
        await self.refresh()

    async def auto_refresh(self) -> None:
        """The timer's tick: refresh only while the window has focus."""
        if self.has_focus:
            await self.refresh()

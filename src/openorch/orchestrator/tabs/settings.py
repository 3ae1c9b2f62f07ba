"""Settings: connection string, key, Connect / Disconnect, Generate Key, local mode.

The configured connection string and key (command line, environment or local mode)
stay on the server: the page shows the connection string masked and says where the key
comes from and whether it matches the database, never its value. The page never
receives a database password either: the string shows `***` in its place, and a blank
password field means "keep the current one" (for the same server only, see
`with_page_password`). A key or password typed here is write-only (the inputs are
emptied once connected). A connection string other than the configured one is checked
by `check_page_connection_string`, and the engine is created from the URL that check
returns, never from the typed text.
"""

from collections.abc import Awaitable, Callable

from nicegui import ui

from openorch.config import ConnectionSettings
from openorch.crypto import generate_key, validate_key
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import guarded, notify_result, off_loop, tid
from openorch.orchestrator.popups.generic import info_popup
from openorch.orchestrator.tabs.retention import RetentionPanel
from openorch.roles import CONNECT_ELSEWHERE, check
from openorch.store import HEAD_REVISION, ConnectionURL, mask, parse_url
from openorch.store.conn_policy import check_page_connection_string, with_page_password


class SettingsTab:
    """The Settings panel. Inputs are locked while connected, so what the inputs say is
    always what the page is connected to."""

    def __init__(
        self,
        client_store: ClientStore,
        defaults: ConnectionSettings | None,
        on_connected: Callable[[], Awaitable[None]],
        on_disconnected: Callable[[], None] | None = None,
    ) -> None:
        self.client_store = client_store
        self.defaults = defaults
        self.on_connected = on_connected
        self.on_disconnected = on_disconnected
        self.configured_conn = defaults.conn_string if defaults else ""
        self.configured_key = defaults.crypto_key if defaults else ""
        self.key_source = (defaults.key_source or "the configuration") if defaults else ""
        self.key_note = ""
        #: Whose password a blank password field keeps: the configured URL, then the one
        #: last connected to. Server-side only.
        self.current_url = self._parsed(self.configured_conn)
        self.key_used = ""
        with ui.column().classes("w-full max-w-3xl gap-2"):
            # Dark text on a light blue panel: readable in light and dark mode alike.
            self.local_label = tid(
                ui.label("").classes("q-pa-sm rounded-borders bg-blue-1 text-blue-10 text-body1"),
                "settings_local_label",
            )
            self.conn_input = tid(
                ui.input("Connection String", value=mask(self.configured_conn)).classes("w-full"),
                "settings_conn_input",
            )
            self.password_input = tid(
                ui.input(
                    "Database password (leave empty to keep the current one)",
                    value="",
                    password=True,
                    password_toggle_button=True,
                )
                .classes("w-full")
                .props('autocomplete="off"'),
                "settings_password_input",
            )
            self.key_input = tid(
                ui.input(
                    "Encryption Key (leave empty to use the configured key)",
                    value="",
                    password=True,
                    password_toggle_button=True,
                    validation={"Invalid AES key": lambda value: not value or validate_key(value)},
                )
                .classes("w-full")
                .props('autocomplete="off"'),
                "settings_key_input",
            )
            self.key_label = tid(ui.label(""), "settings_key_label")
            with ui.row():
                self.connect_button = tid(
                    ui.button("Connect", on_click=guarded(self.connect)), "settings_connect_button"
                )
                self.disconnect_button = tid(
                    ui.button("Disconnect", on_click=guarded(self.disconnect)),
                    "settings_disconnect_button",
                )
                tid(
                    ui.button("Generate Key", on_click=self.generate_key),
                    "settings_generate_key_button",
                )
            self.status_label = tid(ui.label("Not connected."), "settings_status_label")
        self.retention = RetentionPanel(client_store)
        self.conn_input.on_value_change(self._show_state)
        self._show_state()

    def _show_state(self) -> None:
        connected = self.client_store.connected
        self.conn_input.set_enabled(not connected)
        self.password_input.set_enabled(not connected)
        self.key_input.set_enabled(not connected)
        self.connect_button.set_enabled(not connected)
        self.disconnect_button.set_enabled(connected)
        if self.defaults is not None and self.defaults.local:
            self.local_label.text = (
                f"Local mode: nothing was configured, so the Orchestrator uses the SQLite file "
                f"{self.defaults.database_path} and the key file beside it."
            )
        # Only while the page is on (or about to connect to) the local database: after
        # switching to another database the banner would be wrong.
        on_local = (
            self.client_store.local_path is not None
            if connected
            else bool(self.configured_conn)
            and (self.conn_input.value or "").strip() == mask(self.configured_conn)
        )
        self.local_label.visible = bool(self.local_label.text) and on_local
        self.status_label.text = (
            f"Connected to {mask(self.client_store.store.engine.url)}."
            if connected
            else "Not connected."
        )
        if self.key_note:
            self.key_label.text = self.key_note
        elif self.configured_key:
            self.key_label.text = f"Key: from {self.key_source} (not shown)."
        else:
            self.key_label.text = "Key: none configured; type one above."

    async def connect(self) -> None:
        """Connect with the entered values; say why when that fails."""
        typed_conn = (self.conn_input.value or "").strip()
        typed_key = (self.key_input.value or "").strip()
        if typed_key and not validate_key(typed_key):
            notify_result("Invalid AES key", "negative")
            return
        key = typed_key or self.configured_key
        if not key:
            notify_result(
                "No encryption key: type one (or set OpenOrchestratorKey and restart).", "negative"
            )
            return
        typed_password = self.password_input.value or ""
        use_configured = bool(self.configured_conn) and typed_conn == mask(self.configured_conn)
        if not use_configured or typed_key or typed_password:
            check(self.client_store.identity, CONNECT_ELSEWHERE)
        conn = await off_loop(self._connection_url, typed_conn, typed_password, use_configured)
        local_path = (
            self.defaults.database_path
            if self.defaults and self.defaults.local and use_configured
            else None
        )
        self.connect_button.props("loading")
        try:
            result = await off_loop(self.client_store.connect, conn, key, local_path)
        finally:
            self.connect_button.props(remove="loading")
        self.key_input.value = ""  # write-only: a typed key is not kept on the page
        self.password_input.value = ""  # so is a typed password
        self.current_url = self._parsed(conn) if isinstance(conn, str) else conn
        self.conn_input.value = mask(conn) if not use_configured else typed_conn
        self.key_used = "typed on this page" if typed_key else f"from {self.key_source}"
        self._note_key(result.key_matches)
        self._show_state()
        notify_result("Connected!", "positive")
        for warning in result.warnings:
            ui.notify(warning, type="warning", multi_line=True, close_button=True)
        if not result.revision_ok:
            info_popup(
                "Unexpected database revision",
                f"The database is at revision {result.revision}, but this Orchestrator expects "
                f"{HEAD_REVISION}. Some screens may fail until the database is upgraded with:\n"
                f'openorch upgrade "<connection string>"',
                "revision_popup",
            )
        await self.on_connected()

    def _connection_url(
        self, typed_conn: str, typed_password: str, configured: bool
    ) -> str | ConnectionURL:
        """What to connect with: the configured string itself (the admin's own: any
        parameter is fine), with a typed password if one was typed; or the typed string
        with the password the page means, checked, as the URL the check rebuilt."""
        if configured:
            if not typed_password:
                return self.configured_conn
            return parse_url(self.configured_conn).set(password=typed_password)
        url = with_page_password(parse_url(typed_conn), typed_password, self.current_url)
        return check_page_connection_string(url)

    @staticmethod
    def _parsed(conn: str) -> ConnectionURL | None:
        try:
            return parse_url(conn) if conn else None
        except ValueError:
            return None

    def _note_key(self, matches: bool | None) -> None:
        match = {
            True: "it matches the credentials in this database",
            False: "it does NOT match the credentials in this database",
            None: "no credentials in this database to check it against",
        }[matches]
        self.key_note = f"Key: {self.key_used} (not shown); {match}."

    async def refresh(self) -> None:
        """Check the key against the credentials again: one created since Connect (in
        Constants, or by another admin) changes what the key line says; read the
        retention policy and the prune runs again."""
        await self.retention.refresh()
        if not self.client_store.connected or not self.key_note:
            return
        self._note_key(await off_loop(self.client_store.key_matches))
        self._show_state()

    async def disconnect(self) -> None:
        """Close the connection and unlock the inputs."""
        self.client_store.disconnect()
        self.key_note = ""
        self._show_state()
        await self.retention.refresh()
        ui.notify("Disconnected.", type="info")
        if self.on_disconnected is not None:
            self.on_disconnected()

    def generate_key(self) -> None:
        """Fill the key input with a new key (it is never stored anywhere)."""
        self.key_input.value = generate_key().decode()

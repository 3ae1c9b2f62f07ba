"""API: the HTTP API's bearer tokens (create, shown once; revoke) and the record of every
write made through the API (which token, what, when)."""

from datetime import datetime
from typing import Any

from nicegui import ui

from openorch.database import ApiAuditEntry, ApiScope, ApiToken
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import fmt, guarded, notify_result, off_loop, shown_if, tid
from openorch.orchestrator.popups.generic import forget_on_close, question_popup
from openorch.orchestrator.widgets import DatetimeInput, Page, ServerTable, paged, quiet_no_data
from openorch.roles import ADMINISTER

TOKEN_COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Token Name", "field": "name", "align": "left", "sortable": True},
    {"name": "scopes", "label": "Scopes", "field": "scopes", "align": "left"},
    {"name": "state", "label": "State", "field": "state", "align": "left"},
    {"name": "created_at", "label": "Created", "field": "created_at", "align": "left"},
    {"name": "expires_at", "label": "Expires", "field": "expires_at", "align": "left"},
    {"name": "last_used_at", "label": "Last Used", "field": "last_used_at", "align": "left"},
]

AUDIT_COLUMNS: list[dict[str, Any]] = [
    {"name": "time", "label": "Time", "field": "time", "align": "left"},
    {"name": "token_name", "label": "Token", "field": "token_name", "align": "left"},
    {"name": "action", "label": "Action", "field": "action", "align": "left"},
    {
        "name": "detail",
        "label": "Detail",
        "field": "detail",
        "align": "left",
        "style": "white-space: normal; max-width: 50rem",
    },
]

SCOPE_LABELS = {
    ApiScope.READ: "Read",
    ApiScope.RUN: "Run",
    ApiScope.QUEUE_WRITE: "Queue write",
    ApiScope.METRICS: "Metrics",
    ApiScope.REVIEW: "Review",
    ApiScope.AUDIT: "Audit trail",
}


def token_row(token: ApiToken, now: datetime) -> dict[str, Any]:
    """One row of the tokens table (never the hash)."""
    if token.revoked_at is not None:
        state = f"Revoked {fmt(token.revoked_at)}"
    elif not token.is_active(now):
        state = "Expired"
    else:
        state = "Active"
    return {
        "id": str(token.id),
        "name": token.name,
        "scopes": ", ".join(SCOPE_LABELS[scope] for scope in ApiScope if scope in token.scope_set),
        "state": state,
        "active": state == "Active",
        "created_at": fmt(token.created_at),
        "expires_at": fmt(token.expires_at, "never"),
        "last_used_at": fmt(token.last_used_at, "never"),
    }


def audit_row(entry: ApiAuditEntry) -> dict[str, Any]:
    """One row of the audit table."""
    return {
        "id": str(entry.id),
        "time": fmt(entry.time),
        "token_name": entry.token_name,
        "action": entry.action,
        "detail": entry.detail or "",
    }


class ApiTab:
    """The API panel: tokens, and the API's writes."""

    def __init__(self, client_store: ClientStore) -> None:
        self.client_store = client_store
        ui.label(
            "Tokens for the HTTP API (openorch api). A token's secret is shown once, when it "
            "is created; only its hash is stored. Click a token to revoke it."
        ).classes("text-sm")
        shown_if(
            tid(
                ui.button("New Token", icon="add", on_click=guarded(self.new_token)),
                "api_token_new_button",
            ),
            client_store.identity,
            ADMINISTER,
        )
        self.tokens_table = tid(
            ui.table(
                columns=TOKEN_COLUMNS,
                rows=[],
                row_key="id",
                pagination={"rowsPerPage": 25},
                title="API tokens",
            ).classes("w-full"),
            "api_tokens_table",
        )
        paged(self.tokens_table)
        quiet_no_data(self.tokens_table, "No API tokens yet.")
        self.tokens_table.on("row-click", guarded(lambda e: self.revoke(e.args[1])))
        ui.label("Writes through the API").classes("text-lg")
        self.audit = ServerTable(
            AUDIT_COLUMNS, self.fetch_audit, "api_audit_table", rows_per_page=25
        )

    def fetch_audit(self, page: Page) -> tuple[list[dict[str, Any]], int]:
        """One page of the audit record, newest first (runs in a worker thread)."""
        entries, total = self.client_store.store.get_api_audit(page.offset, page.limit)
        return [audit_row(entry) for entry in entries], total

    async def refresh(self) -> None:
        """Load the tokens and the current audit page again."""
        tokens = await off_loop(self.client_store.store.get_api_tokens)
        now = datetime.now()
        self.tokens_table.rows = [token_row(token, now) for token in tokens]
        self.tokens_table.update()
        await self.audit.refresh()

    def new_token(self) -> "TokenPopup":
        """Open the New Token dialog."""
        return TokenPopup(self.client_store, self.refresh)

    async def revoke(self, row: dict[str, Any]) -> None:
        """Revoke the clicked token after asking."""
        if not row.get("active"):
            ui.notify(f"Token '{row['name']}' is already {row['state'].lower()}.")
            return
        if not await question_popup(
            f"Revoke the token '{row['name']}'? Callers using it are refused at once.",
            "Revoke",
            yes_color="negative",
        ):
            return
        await off_loop(self.client_store.store.revoke_api_token, row["id"])
        notify_result(f"Token '{row['name']}' revoked.", "positive")
        await self.refresh()


class TokenPopup:
    """Name, scopes and optional expiry; on Create, the secret is shown once."""

    def __init__(self, client_store: ClientStore, on_saved: Any) -> None:
        self.client_store = client_store
        self.on_saved = on_saved
        with (
            tid(ui.dialog(value=True).props("persistent"), "api_token_popup") as self.dialog,
            ui.card().classes("w-[36rem]"),
        ):
            ui.label("New API token").classes("text-lg text-bold")
            self.name = tid(
                ui.input("Token name (who uses it)").classes("w-full"), "api_token_name_input"
            )
            self.scopes = {
                scope: tid(
                    ui.checkbox(label, value=scope is ApiScope.READ),
                    f"api_token_scope_{scope.name.lower()}",
                )
                for scope, label in SCOPE_LABELS.items()
            }
            self.expires = DatetimeInput("Expires (optional)", "api_token_expires")
            with ui.row() as self.buttons:
                tid(ui.button("Create", on_click=guarded(self.create)), "api_token_create_button")
                tid(ui.button("Cancel", on_click=self.dialog.close), "api_token_cancel_button")
            self.result = ui.column().classes("w-full")
        forget_on_close(self.dialog)

    async def create(self) -> None:
        """Create the token and show its secret (the only time it is readable)."""
        scopes = [scope for scope, box in self.scopes.items() if box.value]
        expires = self.expires.get_datetime()
        token, secret = await off_loop(
            self.client_store.store.create_api_token, self.name.value, scopes, expires
        )
        self.buttons.visible = False
        with self.result:
            ui.label(
                f"Token '{token.name}' created. Copy its secret now: it is not stored and "
                "cannot be shown again."
            ).classes("text-bold")
            tid(
                ui.input("Secret", value=secret).props("readonly").classes("w-full font-mono"),
                "api_token_secret",
            )
            with ui.row():
                ui.button("Copy", icon="content_copy", on_click=lambda: ui.clipboard.write(secret))
                tid(ui.button("Done", on_click=self.dialog.close), "api_token_done_button")
        await self.on_saved()

"""Constants and credentials: two tables, two New buttons; a click opens the popup."""

from typing import Any

from nicegui import ui

from openorch.database import Constant, Credential
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import fmt, guarded, off_loop, shown_if, tid
from openorch.orchestrator.popups.constant_popup import ConstantPopup
from openorch.orchestrator.popups.credential_popup import CredentialPopup
from openorch.orchestrator.widgets import paged, quiet_no_data
from openorch.roles import ADMINISTER

CONSTANT_COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Constant Name", "field": "name", "align": "left", "sortable": True},
    {
        "name": "value",
        "label": "Value",
        "field": "value",
        "align": "left",
        "style": "white-space: normal; max-width: 40rem",
    },
    {"name": "changed_at", "label": "Last Changed", "field": "changed_at", "align": "left"},
]

CREDENTIAL_COLUMNS: list[dict[str, Any]] = [
    {
        "name": "name",
        "label": "Credential Name",
        "field": "name",
        "align": "left",
        "sortable": True,
    },
    {"name": "username", "label": "Username", "field": "username", "align": "left"},
    {"name": "password", "label": "Password", "field": "password", "align": "left"},
    {"name": "changed_at", "label": "Last Changed", "field": "changed_at", "align": "left"},
]


def constant_row(constant: Constant) -> dict[str, Any]:
    """One row of the Constants table."""
    return {
        "id": constant.name,
        "name": constant.name,
        "value": constant.value,
        "changed_at": fmt(constant.changed_at),
    }


#: What the Credentials table says about a password: never anything about its content.
PASSWORD_SET = "Password set (encrypted)"


def credential_row(credential: Credential) -> dict[str, Any]:
    """One row of the Credentials table: only that a password is set. (The original's
    "100 encrypted bytes. 0-15 decrypted bytes." told an admin nothing they could use.)"""
    return {
        "id": credential.name,
        "name": credential.name,
        "username": credential.username,
        "password": PASSWORD_SET if credential.password else "",
        "changed_at": fmt(credential.changed_at),
    }


class ConstantsTab:
    """The Constants panel."""

    def __init__(self, client_store: ClientStore) -> None:
        self.client_store = client_store
        with shown_if(ui.row(), client_store.identity, ADMINISTER):
            tid(
                ui.button("New Constant", icon="add", on_click=guarded(self.new_constant)),
                "constant_new_button",
            )
            tid(
                ui.button("New Credential", icon="add", on_click=guarded(self.new_credential)),
                "credential_new_button",
            )
        self.constants_table = tid(
            ui.table(
                columns=CONSTANT_COLUMNS,
                rows=[],
                row_key="id",
                pagination={"rowsPerPage": 25},
                title="Constants",
            ).classes("w-full"),
            "constants_table",
        )
        paged(self.constants_table)
        quiet_no_data(self.constants_table, "No constants yet.")
        self.constants_table.on(
            "row-click", guarded(lambda e: self.open_constant(e.args[1]["name"]))
        )
        self.credentials_table = tid(
            ui.table(
                columns=CREDENTIAL_COLUMNS,
                rows=[],
                row_key="id",
                pagination={"rowsPerPage": 25},
                title="Credentials",
            ).classes("w-full"),
            "credentials_table",
        )
        paged(self.credentials_table)
        quiet_no_data(self.credentials_table, "No credentials yet.")
        self.credentials_table.on(
            "row-click", guarded(lambda e: self.open_credential(e.args[1]["name"]))
        )

    async def refresh(self) -> None:
        """Load both tables again."""
        store = self.client_store.store
        constants = await off_loop(store.get_constants)
        credentials = await off_loop(store.get_credentials)
        self.constants_table.rows = [constant_row(constant) for constant in constants]
        self.credentials_table.rows = [credential_row(credential) for credential in credentials]
        self.constants_table.update()
        self.credentials_table.update()

    def new_constant(self) -> ConstantPopup:
        """Open an empty constant popup."""
        return ConstantPopup(self.client_store, None, self.refresh)

    def new_credential(self) -> CredentialPopup:
        """Open an empty credential popup."""
        return CredentialPopup(self.client_store, None, self.refresh)

    async def open_constant(self, name: str) -> ConstantPopup:
        """Open the clicked constant, read fresh from the database."""
        constant = await off_loop(self.client_store.store.get_constant, name)
        return ConstantPopup(self.client_store, constant, self.refresh)

    async def open_credential(self, name: str) -> CredentialPopup:
        """Open the clicked credential (its password stays encrypted)."""
        credential = await off_loop(self.client_store.store.get_credential, name, False)
        return CredentialPopup(self.client_store, credential, self.refresh)

"""Create, edit or delete a credential. The password is never shown: editing requires
typing it again, and the table shows only how long its encrypted form is."""

from collections.abc import Awaitable, Callable

from nicegui import ui

from openorch.database import Credential
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import guarded, notify_result, off_loop, tid
from openorch.orchestrator.popups.generic import forget_on_close, question_popup


class CredentialPopup:
    """New credential (credential is None) or an existing one (name fixed)."""

    def __init__(
        self,
        client_store: ClientStore,
        credential: Credential | None,
        on_change: Callable[[], Awaitable[None]],
    ) -> None:
        self.client_store = client_store
        self.credential = credential
        self.on_change = on_change
        with (
            tid(ui.dialog(value=True), "credential_popup") as self.dialog,
            ui.card().classes("w-full max-w-2xl"),
        ):
            ui.label("Update Credential" if credential else "New Credential").classes("text-xl")
            self.name_input = tid(
                ui.input("Credential Name").classes("w-full"), "credential_popup_name_input"
            )
            self.username_input = tid(
                ui.input("Username").classes("w-full"), "credential_popup_username_input"
            )
            self.password_input = tid(
                ui.input(
                    "Password" if credential is None else "Password (type it again)",
                    password=True,
                    password_toggle_button=True,
                ).classes("w-full"),
                "credential_popup_password_input",
            )
            with ui.row():
                tid(ui.button("Save", on_click=guarded(self.save)), "credential_popup_save_button")
                tid(
                    ui.button("Cancel", on_click=self.dialog.close),
                    "credential_popup_cancel_button",
                )
                if credential is not None:
                    tid(
                        ui.button("Delete", color="negative", on_click=guarded(self.delete)),
                        "credential_popup_delete_button",
                    )
        if credential is None:
            self.dialog.props("persistent")
        else:
            self.name_input.value = credential.name
            self.name_input.disable()
            self.username_input.value = credential.username
        forget_on_close(self.dialog)

    async def save(self) -> None:
        """Encrypt and save; an empty password is refused so a credential is never
        silently blanked."""
        store = self.client_store.store
        name = (self.name_input.value or "").strip()
        username = self.username_input.value or ""
        password = self.password_input.value or ""
        if not password:
            raise ValueError("Password is required (an existing password must be typed again).")
        if self.credential is None:
            if not name:
                raise ValueError("Credential Name is required.")
            await off_loop(store.create_credential, name, username, password)
            notify_result(f"Credential '{name}' created.", "positive")
        else:
            await off_loop(store.update_credential, self.credential.name, username, password)
            notify_result(f"Credential '{self.credential.name}' updated.", "positive")
        self.password_input.value = ""
        self.dialog.close()
        await self.on_change()

    async def delete(self) -> None:
        """Delete after asking."""
        if self.credential is None:
            return
        name = self.credential.name
        if not await question_popup(f"Delete credential '{name}'?", "Delete", yes_color="negative"):
            return
        await off_loop(self.client_store.store.delete_credential, name)
        notify_result(f"Credential '{name}' deleted.", "positive")
        self.dialog.close()
        await self.on_change()

"""Create, edit or delete a constant."""

from collections.abc import Awaitable, Callable

from nicegui import ui

from openorch.database import Constant
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import guarded, notify_result, off_loop, tid
from openorch.orchestrator.popups.generic import forget_on_close, question_popup


class ConstantPopup:
    """New constant (constant is None) or an existing one. The name of an existing
    constant is its key and cannot change; a new name that exists is refused by the
    data layer with a message."""

    def __init__(
        self,
        client_store: ClientStore,
        constant: Constant | None,
        on_change: Callable[[], Awaitable[None]],
    ) -> None:
        self.client_store = client_store
        self.constant = constant
        self.on_change = on_change
        with (
            tid(ui.dialog(value=True), "constant_popup") as self.dialog,
            ui.card().classes("w-full max-w-2xl"),
        ):
            ui.label("Update Constant" if constant else "New Constant").classes("text-xl")
            self.name_input = tid(
                ui.input("Constant Name").classes("w-full"), "constant_popup_name_input"
            )
            self.value_input = tid(
                ui.textarea("Value").classes("w-full"), "constant_popup_value_input"
            )
            with ui.row():
                tid(ui.button("Save", on_click=guarded(self.save)), "constant_popup_save_button")
                tid(ui.button("Cancel", on_click=self.dialog.close), "constant_popup_cancel_button")
                if constant is not None:
                    tid(
                        ui.button("Delete", color="negative", on_click=guarded(self.delete)),
                        "constant_popup_delete_button",
                    )
        if constant is None:
            self.dialog.props("persistent")
        else:
            self.name_input.value = constant.name
            self.name_input.disable()
            self.value_input.value = constant.value
        forget_on_close(self.dialog)

    async def save(self) -> None:
        """Create or update; the data layer refuses a duplicate name."""
        store = self.client_store.store
        name = (self.name_input.value or "").strip()
        value = self.value_input.value or ""
        if self.constant is None:
            if not name:
                raise ValueError("Constant Name is required.")
            await off_loop(store.create_constant, name, value)
            notify_result(f"Constant '{name}' created.", "positive")
        else:
            await off_loop(store.update_constant, self.constant.name, value)
            notify_result(f"Constant '{self.constant.name}' updated.", "positive")
        self.dialog.close()
        await self.on_change()

    async def delete(self) -> None:
        """Delete after asking."""
        if self.constant is None:
            return
        name = self.constant.name
        if not await question_popup(f"Delete constant '{name}'?", "Delete", yes_color="negative"):
            return
        await off_loop(self.client_store.store.delete_constant, name)
        notify_result(f"Constant '{name}' deleted.", "positive")
        self.dialog.close()
        await self.on_change()

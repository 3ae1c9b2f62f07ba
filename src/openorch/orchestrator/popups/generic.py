"""Yes/no questions and short messages shared by every popup."""

import asyncio

from nicegui import ui
from nicegui.events import ValueChangeEventArguments

from openorch.orchestrator.common import tid


async def question_popup(
    question: str, yes: str, no: str = "Cancel", *, yes_color: str = "primary"
) -> bool:
    """Ask a question in a modal dialog; True when the admin picked `yes`.

    Test ids: `question_popup`, `question_popup_yes_button`, `question_popup_no_button`.
    """
    with tid(ui.dialog().props("persistent"), "question_popup") as dialog, ui.card():
        ui.label(question).classes("text-lg")
        with ui.row():
            tid(
                ui.button(yes, color=yes_color, on_click=lambda: dialog.submit(True)),
                "question_popup_yes_button",
            )
            tid(ui.button(no, on_click=lambda: dialog.submit(False)), "question_popup_no_button")
    try:
        return bool(await dialog)
    finally:
        dialog.delete()


def forget_on_close(dialog: ui.dialog) -> None:
    """Delete a dialog once it is closed.

    A closed NiceGUI dialog stays in the page; popups opened again and again would pile
    up (and tests would find the old copies). Deleting a moment later lets the handler
    that closed it finish first.
    """

    def on_change(event: ValueChangeEventArguments) -> None:
        if not event.value and not dialog.is_deleted:
            dialog.visible = False  # closed: no longer found by tests or element filters
            asyncio.get_running_loop().call_later(0.5, _delete, dialog)

    dialog.on_value_change(on_change)


def _delete(dialog: ui.dialog) -> None:
    if not dialog.is_deleted and not dialog.value:
        dialog.delete()


def info_popup(title: str, message: str, test_id: str = "info_popup") -> ui.dialog:
    """Show a message that needs reading (not a fleeting notification)."""
    with tid(ui.dialog(value=True), test_id) as dialog, ui.card().classes("max-w-2xl"):
        ui.label(title).classes("text-lg text-bold")
        ui.label(message).classes("whitespace-pre-wrap")
        tid(ui.button("OK", on_click=dialog.close), f"{test_id}_ok_button")
    forget_on_close(dialog)
    return dialog

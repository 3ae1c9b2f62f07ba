"""A queue's settings: attempts, retry delay, unique references, default deadline and
description (the `Queue_Settings` row of that queue name)."""

from collections.abc import Awaitable, Callable

from nicegui import ui

from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import guarded, notify_result, off_loop, tid
from openorch.orchestrator.popups.generic import forget_on_close


class QueueSettingsPopup:
    """Edit one queue's settings (`queue_name` None: a name is asked for, so a queue can
    be configured before its first element). Test ids start with `queue_settings_popup_`."""

    def __init__(
        self,
        client_store: ClientStore,
        queue_name: str | None,
        on_change: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.client_store = client_store
        self.on_change = on_change
        with (
            tid(ui.dialog(value=True), "queue_settings_popup") as self.dialog,
            ui.card().classes("w-full max-w-xl"),
        ):
            ui.label(f"Settings of queue {queue_name}" if queue_name else "Queue settings").classes(
                "text-xl"
            )
            self.name_input = tid(
                ui.input("Queue name", value=queue_name or "").classes("w-full"),
                "queue_settings_popup_name_input",
            )
            if queue_name:
                self.name_input.disable()
            self.attempts_input = tid(
                ui.number(
                    "Maximum attempts (1: no retries)", value=1, min=1, precision=0, format="%d"
                ).classes("w-full"),
                "queue_settings_popup_attempts_input",
            )
            self.delay_input = tid(
                ui.number(
                    "Retry delay (seconds before a released element may be claimed)",
                    value=0,
                    min=0,
                    precision=0,
                    format="%d",
                ).classes("w-full"),
                "queue_settings_popup_delay_input",
            )
            self.deadline_input = tid(
                ui.number(
                    "Default deadline (minutes after creation; empty: none)",
                    value=None,
                    min=1,
                    precision=0,
                    format="%d",
                ).classes("w-full"),
                "queue_settings_popup_deadline_input",
            )
            self.unique_switch = tid(
                ui.switch("Unique references"), "queue_settings_popup_unique_switch"
            )
            self.review_business_switch = tid(
                ui.switch("Business failures go to review", value=True),
                "queue_settings_popup_review_business_switch",
            )
            self.review_exhausted_switch = tid(
                ui.switch("Application failures go to review when attempts are used up"),
                "queue_settings_popup_review_exhausted_switch",
            )
            self.description_input = tid(
                ui.textarea("Description").classes("w-full"),
                "queue_settings_popup_description_input",
            )
            with ui.row():
                tid(
                    ui.button("Save", on_click=guarded(self.save)),
                    "queue_settings_popup_save_button",
                )
                tid(
                    ui.button("Close", on_click=self.dialog.close),
                    "queue_settings_popup_close_button",
                )
        forget_on_close(self.dialog)

    async def load(self) -> None:
        """Show the stored settings of the queue (the defaults when it has none)."""
        name = (self.name_input.value or "").strip()
        if not name:
            return
        settings = await off_loop(self.client_store.store.get_queue_settings, name)
        self.attempts_input.value = settings.max_attempts
        self.delay_input.value = settings.retry_delay_seconds
        seconds = settings.default_deadline_seconds
        self.deadline_input.value = None if seconds is None else seconds // 60
        self.unique_switch.value = settings.unique_references
        self.description_input.value = settings.description or ""
        self.review_business_switch.value = settings.review_business is not False
        self.review_exhausted_switch.value = bool(settings.review_exhausted)

    async def save(self) -> None:
        """Write every field; the data layer checks them (a bad value changes nothing)."""
        name = (self.name_input.value or "").strip()
        if not name:
            raise ValueError("Queue name is required.")
        deadline = self.deadline_input.value
        await off_loop(
            # Taken here, on the event loop: the audit trail names whoever clicked.
            self.client_store.store.set_queue_settings,
            name,
            max_attempts=int(self.attempts_input.value or 0),
            retry_delay_seconds=int(self.delay_input.value or 0),
            unique_references=bool(self.unique_switch.value),
            default_deadline_seconds=None if deadline in (None, "") else int(deadline) * 60,
            description=(self.description_input.value or "").strip() or None,
            review_business=bool(self.review_business_switch.value),
            review_exhausted=bool(self.review_exhausted_switch.value),
        )
        notify_result(f"Settings of queue '{name}' saved.", "positive")
        self.dialog.close()
        if self.on_change is not None:
            await self.on_change()

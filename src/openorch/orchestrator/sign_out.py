"""Settings → Sign-in: "Sign out every browser".

Ends every browser session of this Orchestrator (`sessions.py`): every open page goes
to the login page, and every cookie and stored secret stops working. Wanted after a
session may have leaked, or before handing the machine over; the token itself stays
(change it by changing the token file and restarting).
"""

from nicegui import ui

from openorch.orchestrator.access import current_guard
from openorch.orchestrator.audited_store import record_event
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import guarded, off_loop, tid
from openorch.orchestrator.popups.generic import question_popup
from openorch.orchestrator.who import current_identity


def sign_out_section(client_store: ClientStore | None = None) -> None:
    """The section under Settings' connection inputs."""
    with ui.column().classes("w-full max-w-3xl gap-2 q-mt-lg"):
        ui.label("Sign-in").classes("text-h6")
        ui.label(
            "Browsers signed in with the token stay signed in until they are closed or "
            "unused for a while. Sign them all out (this one too) when a session may "
            "have leaked; the token stays the same."
        )
        tid(
            ui.button(
                "Sign out every browser",
                icon="logout",
                color="negative",
                on_click=guarded(lambda: _ask(client_store)),
            ),
            "settings_sign_out_all_button",
        )


async def _ask(client_store: ClientStore | None) -> None:
    if await question_popup(
        "Sign out every browser signed in to this Orchestrator, this one too?",
        "Sign out every browser",
        yes_color="negative",
    ):
        if client_store is not None and client_store.connected:
            # Recorded first: this page is signed out too. Without a database there is
            # no trail to write to (docs/security.md, "Who did what").
            store = client_store.store
            await off_loop(
                record_event,
                store,
                "session.sign_out_all",
                "session",
                summary="every browser signed out",
                who=current_identity(),
            )
        current_guard().sessions.end_all()

"""Settings → Sign-in: how people sign in (from the sign-in file) and "Sign out every
browser" (admins only).

Ends every browser session of this Orchestrator (`sessions.py`): every open page goes
to the login page, and every cookie and stored secret stops working. Wanted after a
session may have leaked, or before handing the machine over; the token itself stays
(change it by changing the token file and restarting).
"""

from nicegui import ui

from openorch.orchestrator import who
from openorch.orchestrator.access import current_guard
from openorch.orchestrator.audited_store import record_event
from openorch.orchestrator.client_store import ClientStore
from openorch.orchestrator.common import guarded, off_loop, shown_if, tid
from openorch.orchestrator.popups.generic import question_popup
from openorch.roles import SIGN_OUT_EVERYONE, check


def sign_out_section(client_store: ClientStore | None = None) -> None:
    """The section under Settings' connection inputs."""
    column = ui.column().classes("w-full max-w-3xl gap-2 q-mt-lg")
    with shown_if(column, who.current_identity(), SIGN_OUT_EVERYONE):
        ui.label("Sign-in").classes("text-h6")
        tid(ui.label(ways_to_sign_in()), "settings_sign_in_ways")
        tid(
            ui.button("Edit sign-in settings", icon="manage_accounts", on_click=guarded(_edit)),
            "settings_sign_in_edit_button",
        )
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


def ways_to_sign_in() -> str:
    """What the sign-in file set up, in words (never a secret): shown to admins only."""
    config = current_guard().sign_in
    ways = []
    if config.oidc is not None:
        ways.append(f"OpenID Connect ({config.oidc.name}, {config.oidc.issuer})")
    if config.ldap is not None:
        ways.append(f"LDAP ({config.ldap.url})")
    if not ways:
        return (
            "Only the token signs in. To let people sign in with their own accounts and "
            "roles, write a sign-in file (docs/sign-in.md) and restart."
        )
    return (
        f"People sign in with {' and '.join(ways)}, or the token; set up in "
        f"{config.path} (edit it and restart to change it)."
    )


def _edit() -> object:
    from openorch.orchestrator.popups.sign_in_popup import SignInPopup
    from openorch.sign_in_config import sign_in_path

    config = current_guard().sign_in
    return SignInPopup(who.current_identity(), config, config.path or sign_in_path())


async def _ask(client_store: ClientStore | None) -> None:
    check(who.current_identity(), SIGN_OUT_EVERYONE)
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
                who=who.current_identity(),
            )
        current_guard().sessions.end_all()

"""Settings → Sign-in → "Edit sign-in settings": the sign-in file, edited on the page
(admins only).

One input per setting of `sign_in_config.OidcSettings` and `LdapSettings`, made from
their fields, so a new setting shows up here by itself. The client secret and the
service account's password are `KeptSecretInput`s: the stored value never reaches the
page, and an empty input keeps it. The file is checked as a whole (`save_sign_in`)
before it replaces the old one (owner-only); the running server keeps its sign-in
settings until it is restarted.
"""

import dataclasses
from pathlib import Path
from typing import Any

from nicegui import ui

from openorch.identity import ROLES, Identity
from openorch.orchestrator.common import guarded, notify_result, off_loop, tid
from openorch.orchestrator.popups.generic import forget_on_close
from openorch.orchestrator.widgets import KeptSecretInput
from openorch.roles import ADMINISTER, check
from openorch.sign_in_config import (
    LdapSettings,
    OidcSettings,
    SignInConfig,
    dump_sign_in,
    save_sign_in,
)

#: Settings that are secrets (never sent to the page).
SECRETS = frozenset({"client_secret", "bind_password"})
#: The sections, their settings class and title.
SECTIONS: tuple[tuple[str, type, str], ...] = (
    ("oidc", OidcSettings, "OpenID Connect (Entra ID, Keycloak, Google…)"),
    ("ldap", LdapSettings, "LDAP / Active Directory"),
)
NO_DEFAULT = "(none: cannot sign in)"


def _shown(value: Any) -> Any:
    if isinstance(value, tuple):
        return ", ".join(value)
    return value


class SignInPopup:
    """The editor of the sign-in file at `path`, filled from `config`."""

    def __init__(self, identity: Identity, config: SignInConfig, path: Path) -> None:
        check(identity, ADMINISTER)
        self.identity = identity
        self.config = config
        self.path = path
        self.inputs: dict[str, dict[str, Any]] = {}
        self.used: dict[str, Any] = {}
        with (
            tid(ui.dialog(value=True), "sign_in_popup") as self.dialog,
            ui.card().classes("w-full max-w-3xl"),
        ):
            ui.label("Sign-in settings").classes("text-xl")
            ui.label(f"Saved to {path} (readable by this server's user only).").classes("text-sm")
            for name, kind, title in SECTIONS:
                self._section(name, kind, title, getattr(config, name))
            ui.label("Restart the Orchestrator to apply saved changes.").classes("text-sm")
            with ui.row():
                tid(ui.button("Save", on_click=guarded(self.save)), "sign_in_popup_save_button")
                tid(ui.button("Cancel", on_click=self.dialog.close), "sign_in_popup_cancel_button")
        self.dialog.props("persistent")
        forget_on_close(self.dialog)

    def _section(self, name: str, kind: type, title: str, current: Any) -> None:
        inputs: dict[str, Any] = {}
        with ui.expansion(title, value=current is not None).classes("w-full"):
            self.used[name] = tid(ui.checkbox("Use it", value=current is not None), f"{name}_use")
            for setting in dataclasses.fields(kind):
                if setting.name == "mapping":
                    continue
                marker = f"{name}_{setting.name}"
                label = setting.name.replace("_", " ")
                if setting.name in SECRETS:
                    secret = KeptSecretInput(label, marker)
                    if current is not None and getattr(current, setting.name):
                        secret.keep("the stored secret")
                    inputs[setting.name] = secret
                    continue
                value = (
                    getattr(current, setting.name)
                    if current is not None
                    else (setting.default if setting.default is not dataclasses.MISSING else "")
                )
                if isinstance(value, bool):
                    inputs[setting.name] = tid(ui.checkbox(label, value=value), marker)
                elif isinstance(value, int | float):
                    inputs[setting.name] = tid(ui.number(label, value=value), marker)
                else:
                    inputs[setting.name] = tid(
                        ui.input(label, value=str(_shown(value))).classes("w-full"), marker
                    )
            mapping = current.mapping if current is not None else None
            lines = "\n".join(f"{g} = {r}" for g, r in (mapping.roles if mapping else {}).items())
            inputs["roles"] = tid(
                ui.textarea("Roles: one 'group or app role = role' a line", value=lines).classes(
                    "w-full"
                ),
                f"{name}_roles",
            )
            inputs["default_role"] = tid(
                ui.select(
                    [NO_DEFAULT, *ROLES],
                    label="Role of someone no line matches",
                    value=(
                        mapping.default_role if mapping and mapping.default_role else NO_DEFAULT
                    ),
                ),
                f"{name}_default_role",
            )
        self.inputs[name] = inputs

    def _values(self, name: str, kind: type) -> dict[str, Any]:
        """The section as the file will say it (checked by `save_sign_in`)."""
        inputs = self.inputs[name]
        current = getattr(self.config, name)
        values: dict[str, Any] = {}
        for setting in dataclasses.fields(kind):
            if setting.name == "mapping":
                continue
            widget = inputs[setting.name]
            if isinstance(widget, KeptSecretInput):
                typed = widget.typed()
                stored = getattr(current, setting.name) if current is not None else ""
                value: Any = typed if typed is not None else stored
            else:
                value = widget.value
            default = setting.default
            if isinstance(default, tuple):
                value = [part.strip() for part in str(value or "").split(",") if part.strip()]
            elif isinstance(default, int) and not isinstance(default, bool):
                value = int(value or 0)
            elif isinstance(default, float):
                value = float(value or 0)
            elif isinstance(value, str):
                value = value.strip()
            if value in ("", []) and default is dataclasses.MISSING:
                value = ""
            elif value in ("", []) or value == default:
                continue  # the default: left out of the file
            values[setting.name] = value
        roles: dict[str, str] = {}
        for number, line in enumerate((inputs["roles"].value or "").splitlines(), 1):
            if not line.strip():
                continue
            group, equals, role = line.rpartition("=")
            if not equals or not group.strip():
                raise ValueError(
                    f"{name} roles, line {number}: write 'group = role', "
                    "e.g. 'orch-admins = admin'."
                )
            roles[group.strip()] = role.strip()
        if inputs["default_role"].value in ROLES:
            values["default_role"] = inputs["default_role"].value
        values["roles"] = roles
        return values

    async def save(self) -> None:
        """Check the whole file, then write it (owner-only)."""
        check(self.identity, ADMINISTER)
        sections = {
            name: self._values(name, kind)
            for name, kind, _title in SECTIONS
            if self.used[name].value
        }
        text = dump_sign_in(sections)
        await off_loop(save_sign_in, text, self.path)
        notify_result(
            f"Sign-in settings saved to {self.path}. Restart the Orchestrator to apply them.",
            "positive",
        )
        self.dialog.close()

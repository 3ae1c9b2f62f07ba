"""Settings → Sign-in → "Edit sign-in settings": an admin writes the sign-in file from
the page; it is checked before it replaces the old one, it is owner-only, and a stored
secret never reaches the page (an empty input keeps it)."""

import os
from pathlib import Path

import pytest
from nicegui.testing.user import User

from openorch.identity import Identity
from openorch.orchestrator.popups.sign_in_popup import SignInPopup
from openorch.roles import NotAllowed
from openorch.sign_in_config import ENV_SIGN_IN_FILE, SignInConfig, load_sign_in, sign_in_path
from support.ui import click_and_wait, has, one, set_value, until


async def test_an_admin_writes_the_sign_in_file(user: User, tmp_path: Path) -> None:
    path = sign_in_path()
    assert not path.exists() and not os.environ.get(ENV_SIGN_IN_FILE)
    await user.open("/")
    await click_and_wait(user, "settings_sign_in_edit_button", "sign_in_popup_save_button")
    user.find(marker="oidc_use").click()
    set_value(user, "oidc_issuer", "https://login.example.org/tenant/v2.0")
    set_value(user, "oidc_client_id", "app-id")
    set_value(user, "oidc_roles_claim", "roles")
    set_value(user, "oidc_roles", "Orchestrator.Admin = admin\nOrchestrator.Operator = operator")
    # No client secret yet: the whole file is refused, nothing is written.
    user.find(marker="sign_in_popup_save_button").click()
    await user.should_see("missing client_secret")
    assert not path.exists()
    one(user, "oidc_client_secret").value = "s3cret-value"
    user.find(marker="sign_in_popup_save_button").click()
    await until(path.exists)
    assert (path.stat().st_mode & 0o777) == 0o600
    config = load_sign_in(path)
    assert config.oidc is not None and config.ldap is None
    assert config.oidc.client_secret == "s3cret-value" and config.oidc.roles_claim == "roles"
    assert config.oidc.mapping.role_for(["orchestrator.operator"]) == "operator"

    # Editing again: the secret is not on the page; left empty, it is kept.
    await until(lambda: not has(user, "sign_in_popup_save_button"))
    from openorch.orchestrator import access

    guard = access.current_guard()
    object.__setattr__(guard, "sign_in", config)  # as after a restart with this file
    await click_and_wait(user, "settings_sign_in_edit_button", "sign_in_popup_save_button")
    assert one(user, "oidc_client_secret").value == ""
    for element in one(user, "sign_in_popup").descendants():
        assert "s3cret-value" not in f"{element.props} {getattr(element, 'value', '')}"
    set_value(user, "oidc_name", "Entra ID")
    user.find(marker="sign_in_popup_save_button").click()
    await until(lambda: load_sign_in(path).oidc.name == "Entra ID")  # type: ignore[union-attr]
    assert load_sign_in(path).oidc.client_secret == "s3cret-value"  # type: ignore[union-attr]


def test_only_an_admin_opens_the_editor() -> None:
    with pytest.raises(NotAllowed):
        SignInPopup(Identity("olga", "oidc", "operator"), SignInConfig(), Path("x.toml"))

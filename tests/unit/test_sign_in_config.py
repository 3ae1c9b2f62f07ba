"""The sign-in file: read when valid; refused with a clear message when readable by
others, wrong or incomplete; secrets kept out of repr (and so out of logs)."""

import os
from pathlib import Path

import pytest

from openorch.private_files import write_private
from openorch.sign_in_config import ENV_SIGN_IN_FILE, RoleMapping, SignInConfigError, load_sign_in

GOOD = """
[oidc]
name = "Entra ID"
issuer = "https://login.microsoftonline.com/tenant/v2.0"
client_id = "app"
client_secret = "very-secret"
roles_claim = "roles"
[oidc.roles]
"Orchestrator.Admin" = "admin"
"Orchestrator.Operator" = "operator"

[ldap]
url = "ldaps://dc1.example.org"
bind_dn = "cn=finder,dc=example,dc=org"
bind_password = "also-secret"
user_base = "dc=example,dc=org"
user_filter = "(sAMAccountName={username})"
default_role = "viewer"
[ldap.roles]
"CN=Orch Admins,OU=Groups,DC=example,DC=org" = "admin"
"""


def test_a_good_file(tmp_path: Path) -> None:
    config = load_sign_in(write_private(tmp_path / "s.toml", GOOD))
    assert config.oidc is not None and config.ldap is not None
    assert config.oidc.discovery_url.endswith("/v2.0/.well-known/openid-configuration")
    assert config.oidc.mapping.role_for(["orchestrator.operator", "x"]) == "operator"
    assert config.ldap.mapping.role_for(["cn=orch admins,ou=groups,dc=example,dc=org"]) == "admin"
    assert config.ldap.mapping.role_for(["other"]) == "viewer"
    assert "very-secret" not in repr(config) and "also-secret" not in repr(config)


def test_the_strongest_role_wins() -> None:
    mapping = RoleMapping({"a": "viewer", "b": "operator", "c": "reviewer"})
    assert mapping.role_for(["a", "c", "b"]) == "operator"
    assert mapping.role_for([]) is None


def test_no_file_means_the_token_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENORCH_HOME", str(tmp_path))
    monkeypatch.delenv(ENV_SIGN_IN_FILE, raising=False)
    config = load_sign_in()
    assert config.oidc is None and config.ldap is None
    with pytest.raises(SignInConfigError, match="does not exist"):
        load_sign_in(tmp_path / "missing.toml")


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = write_private(tmp_path / "s.toml", GOOD)
    path.chmod(0o644)
    with pytest.raises(SignInConfigError, match="chmod 600"):
        load_sign_in(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[ldap]\nurl = "ldap://dc"\nuser_dn = "{username}"\ndefault_role = "viewer"', "clear"),
        ('[ldap]\nurl = "ldaps://dc"\ndefault_role = "viewer"', "user_dn"),
        ('[ldap]\nurl = "ldaps://dc"\nuser_dn = "x"\n[ldap.roles]\ng = "boss"', "boss"),
        ('[ldap]\nurl = "ldaps://dc"\nuser_dn = "x"', "nobody could sign in"),
        ('[oidc]\nissuer = "https://x"\nclient_id = "a"\ndefault_role = "viewer"', "secret"),
        (
            '[oidc]\nissuer="https://x"\nclient_id="a"\nclient_secret="s"\ncolour="red"\n'
            'default_role="viewer"',
            "Known settings",
        ),
        ("[saml]\n", "unknown sections"),
        ("not toml", "not valid TOML"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SignInConfigError, match=message):
        load_sign_in(write_private(tmp_path / "s.toml", text))

"""Ways to sign in to the Orchestrator besides the start-up token: the sign-in file.

An admin writes a TOML file (`--sign-in-file FILE`, `OPENORCH_SIGN_IN_FILE`, else
`sign-in.toml` in openorch's data folder; no file: only the token signs in) with an
`[oidc]` section (OpenID Connect: Entra ID, Keycloak, Google...) and/or an `[ldap]`
section (LDAP or Active Directory), each with a `[*.roles]` table mapping a group or
app-role to an openorch role. docs/sign-in.md has examples.

The file holds secrets (the OIDC client secret, an LDAP service account's password), so
it must be readable by its owner only (mode 0600, as `openorch.private_files` makes
files): one readable by others is refused at start, like ssh refuses a readable key.
Secrets are kept out of `repr` so they reach no log. The start-up token always works
too: a break-glass way in when the provider or the directory is down.
"""

import json
import os
import stat
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from openorch.config import data_dir
from openorch.identity import ROLES

#: Environment variable naming the sign-in file.
ENV_SIGN_IN_FILE = "OPENORCH_SIGN_IN_FILE"
#: The sign-in file's name in the data folder.
DEFAULT_NAME = "sign-in.toml"


class SignInConfigError(ValueError):
    """The sign-in file cannot be used; the message says why and where."""


@dataclass(frozen=True)
class RoleMapping:
    """Group or app-role names (or DNs) → openorch roles; the strongest match wins."""

    roles: Mapping[str, str] = field(default_factory=dict)
    #: Role of someone no entry matches (None: they may not sign in).
    default_role: str | None = None

    def role_for(self, values: Iterable[str]) -> str | None:
        """The strongest role any of `values` maps to (compared case-insensitively), or
        the default role; None when there is none."""
        by_name = {name.casefold(): role for name, role in self.roles.items()}
        found = [by_name[value.casefold()] for value in values if value.casefold() in by_name]
        if not found:
            return self.default_role
        return min(found, key=ROLES.index)


@dataclass(frozen=True)
class OidcSettings:
    """One OpenID Connect provider."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    #: What the sign-in button says: "Sign in with <name>".
    name: str = "single sign-on"
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    #: The ID token claim holding groups or app roles (Entra ID: "roles" or "groups").
    roles_claim: str = "groups"
    #: The claim naming the person (the first one present is used).
    name_claims: tuple[str, ...] = ("preferred_username", "email", "name", "sub")
    #: Where the provider sends the browser back; default: this server's own address
    #: (as the browser reached it) + /login/oidc/callback.
    redirect_url: str = ""
    #: How the client secret goes to the token endpoint: "client_secret_post" (in the
    #: form) or "client_secret_basic" (an Authorization header).
    token_auth: str = "client_secret_post"
    #: Seconds of clock difference tolerated when checking the token's times.
    leeway: int = 60
    mapping: RoleMapping = field(default_factory=RoleMapping)

    @property
    def discovery_url(self) -> str:
        """The provider's OpenID configuration document."""
        if self.issuer.endswith("/.well-known/openid-configuration"):
            return self.issuer
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class LdapSettings:
    """One LDAP server or Active Directory domain."""

    url: str
    #: ldap:// upgraded with StartTLS (ldaps:// is TLS from the start).
    start_tls: bool = False
    #: CA certificate file to verify the server's certificate with (default: the
    #: system's). Certificates are always verified.
    ca_file: str = ""
    #: Direct bind: the user's DN, `{username}` replaced (e.g.
    #: "uid={username},ou=people,dc=example,dc=org"; AD: "{username}@example.org").
    user_dn: str = ""
    #: Search-then-bind: a service account finds the user's DN first.
    bind_dn: str = ""
    bind_password: str = field(default="", repr=False)
    user_base: str = ""
    user_filter: str = "(uid={username})"
    #: Where the user's groups are, and the filter finding them ({user_dn}, {username}).
    group_base: str = ""
    group_filter: str = "(|(member={user_dn})(uniqueMember={user_dn}))"
    #: Attribute naming a group (its DN matches the mapping as well).
    group_name_attribute: str = "cn"
    timeout: float = 5.0
    #: What the password form calls this directory.
    name: str = "directory"
    mapping: RoleMapping = field(default_factory=RoleMapping)


@dataclass(frozen=True)
class SignInConfig:
    """Every way to sign in besides the token (both None: the token only)."""

    oidc: OidcSettings | None = None
    ldap: LdapSettings | None = None
    path: Path | None = None


def sign_in_path(explicit: str | Path | None = None) -> Path:
    """The sign-in file: given, else from the environment, else in the data folder."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(ENV_SIGN_IN_FILE)
    return Path(from_env) if from_env else data_dir() / DEFAULT_NAME


def load_sign_in(explicit: str | Path | None = None) -> SignInConfig:
    """Read the sign-in file (no file: the token only; an explicitly named file must
    exist).

    Raises:
        SignInConfigError: unreadable, not TOML, readable by others, or a setting
            missing or wrong.
    """
    path = sign_in_path(explicit)
    if not path.exists():
        if explicit or os.environ.get(ENV_SIGN_IN_FILE):
            raise SignInConfigError(f"The sign-in file {path} does not exist.")
        return SignInConfig()
    if os.name == "posix":
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SignInConfigError(
                f"The sign-in file {path} may be read by other users (mode "
                f"{stat.filemode(mode)}); it holds secrets. Make it yours only: chmod 600 {path}"
            )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise SignInConfigError(f"Cannot read the sign-in file {path}: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise SignInConfigError(f"The sign-in file {path} is not valid TOML: {error}") from error
    unknown = set(data) - {"oidc", "ldap"}
    if unknown:
        raise SignInConfigError(
            f"The sign-in file {path} has unknown sections {sorted(unknown)}; "
            "it knows [oidc] and [ldap]."
        )
    oidc = _oidc(data["oidc"], path) if "oidc" in data else None
    ldap = _ldap(data["ldap"], path) if "ldap" in data else None
    return SignInConfig(oidc, ldap, path)


def _mapping(section: dict[str, Any], where: str) -> RoleMapping:
    roles = section.pop("roles", {})
    default = section.pop("default_role", None)
    if not isinstance(roles, dict):
        raise SignInConfigError(f"{where}: roles must be a table of name = role.")
    for name, role in [*roles.items(), *([("default_role", default)] if default else [])]:
        if role not in ROLES:
            raise SignInConfigError(
                f"{where}: {name} maps to {role!r}; roles are {', '.join(ROLES)}."
            )
    if not roles and not default:
        raise SignInConfigError(
            f"{where}: no roles table and no default_role, so nobody could sign in."
        )
    return RoleMapping(dict(roles), default)


def _build(kind: type, section: Any, path: Path, name: str, required: tuple[str, ...]) -> Any:
    where = f"{path} [{name}]"
    if not isinstance(section, dict):
        raise SignInConfigError(f"{where} must be a table.")
    section = dict(section)
    mapping = _mapping(section, where)
    missing = [key for key in required if not section.get(key)]
    if missing:
        raise SignInConfigError(f"{where}: missing {', '.join(missing)}.")
    for key in ("scopes", "name_claims"):
        if key in section:
            section[key] = tuple(section[key])
    try:
        return kind(**section, mapping=mapping)
    except TypeError as error:
        known = [f.name for f in fields(kind) if f.name != "mapping"]
        raise SignInConfigError(
            f"{where}: {error}. Known settings: {', '.join(known)}, roles, default_role."
        ) from None


def _oidc(section: Any, path: Path) -> OidcSettings:
    settings: OidcSettings = _build(
        OidcSettings, section, path, "oidc", ("issuer", "client_id", "client_secret")
    )
    if settings.token_auth not in ("client_secret_post", "client_secret_basic"):
        raise SignInConfigError(
            f"{path} [oidc]: token_auth is client_secret_post or client_secret_basic."
        )
    if "openid" not in settings.scopes:
        raise SignInConfigError(f"{path} [oidc]: scopes must include openid.")
    return settings


def _ldap(section: Any, path: Path) -> LdapSettings:
    settings: LdapSettings = _build(LdapSettings, section, path, "ldap", ("url",))
    if not settings.url.startswith(("ldap://", "ldaps://")):
        raise SignInConfigError(f"{path} [ldap]: url must start with ldaps:// or ldap://.")
    if settings.url.startswith("ldap://") and not settings.start_tls:
        raise SignInConfigError(
            f"{path} [ldap]: ldap:// sends passwords in clear; use ldaps:// or set "
            "start_tls = true."
        )
    if not settings.user_dn and not (settings.bind_dn and settings.user_base):
        raise SignInConfigError(
            f"{path} [ldap]: set user_dn (direct bind) or bind_dn, bind_password and "
            "user_base (search, then bind)."
        )
    if settings.ca_file and not Path(settings.ca_file).is_file():
        raise SignInConfigError(f"{path} [ldap]: ca_file {settings.ca_file} does not exist.")
    return settings


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value))  # JSON's string escapes are TOML's basic-string escapes


def dump_sign_in(sections: Mapping[str, Mapping[str, Any]]) -> str:
    """TOML text of a sign-in file: `sections` maps "oidc"/"ldap" to their settings,
    each with a "roles" table (group → role)."""
    lines = ["# openorch sign-in settings (docs/sign-in.md). Holds secrets: keep it 0600.", ""]
    for name, values in sections.items():
        lines.append(f"[{name}]")
        roles = values.get("roles", {})
        for key, value in values.items():
            if key != "roles" and value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
        lines.append(f"[{name}.roles]")
        lines.extend(f"{_toml_value(group)} = {_toml_value(role)}" for group, role in roles.items())
        lines.append("")
    return "\n".join(lines)


def save_sign_in(text: str, path: Path) -> SignInConfig:
    """Check `text` as a sign-in file, then put it at `path` (owner-only); the settings
    it holds. Nothing is written when it is not valid.

    Raises:
        SignInConfigError: what is wrong with it.
    """
    from openorch.private_files import private_dir, write_private

    path = Path(path)
    if not path.parent.exists():
        private_dir(path.parent)
    trial = path.with_name(f".{path.name}.new")
    write_private(trial, text)
    try:
        config = load_sign_in(trial)
    except SignInConfigError as error:
        trial.unlink(missing_ok=True)
        raise SignInConfigError(str(error).replace(str(trial), str(path))) from None
    os.replace(trial, path)
    return SignInConfig(config.oidc, config.ldap, path)

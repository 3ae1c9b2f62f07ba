"""Sign in with a user name and password checked by an LDAP server or Active Directory.

The password is checked by binding as the user (directly with a DN template, or after a
service account found the user's DN), over TLS that is always verified (ldaps://, or
ldap:// upgraded with StartTLS; a CA file may be named). The user's groups (a search
under `group_base`, plus AD's `memberOf`) are mapped to an openorch role; no mapped
group and no default role: the person may not sign in.

Blocking (ldap3 is synchronous): the sign-in page calls it in a worker thread.
"""

import ssl
from typing import Any

from openorch.identity import Identity
from openorch.sign_in_config import LdapSettings


class SignInRefused(ValueError):
    """The user name or password is wrong, or the person has no openorch role; the
    message can be shown on the sign-in page."""


class DirectoryUnavailable(ValueError):
    """The directory cannot be reached or cannot be trusted right now; the message says
    so (the token still signs in)."""


#: What a wrong user name or password is told (never which of the two was wrong).
WRONG = "That user name or password is not right."
#: LDAP result code of a refused bind (invalidCredentials).
INVALID_CREDENTIALS = 49


def ldap_sign_in(settings: LdapSettings, username: str, password: str) -> Identity:
    """Check `username` and `password` with the directory; the person's identity.

    Raises:
        SignInRefused: wrong user name or password, or no group gives a role.
        DirectoryUnavailable: the server is down, too slow, or its certificate is not
            trusted.
    """
    from ldap3.core.exceptions import LDAPException

    username = username.strip()
    # An empty password is an "unauthenticated bind", which LDAP servers accept for any
    # DN: it must never reach the server.
    if not username or not password:
        raise SignInRefused("Enter your user name and password.")
    if len(username) > 256 or len(password) > 1024:
        raise SignInRefused(WRONG)
    try:
        return _sign_in(settings, username, password)
    except (SignInRefused, DirectoryUnavailable):
        raise
    except LDAPException as error:
        raise DirectoryUnavailable(_unavailable(settings, error)) from error
    except (OSError, ssl.SSLError) as error:
        raise DirectoryUnavailable(_unavailable(settings, error)) from error


def _unavailable(settings: LdapSettings, error: BaseException) -> str:
    text = str(error)
    if "certificate" in text.lower() or isinstance(error, ssl.SSLError):
        why = "its TLS certificate is not trusted (set ca_file in the sign-in file)"
    else:
        why = "it does not answer"
    return (
        f"The {settings.name} ({settings.url}) cannot be used right now: {why}. "
        "Try again later, or sign in with the Orchestrator's token."
    )


def _server(settings: LdapSettings) -> Any:
    from ldap3 import NONE, Server, Tls

    tls = Tls(
        validate=ssl.CERT_REQUIRED,
        ca_certs_file=settings.ca_file or None,
        version=ssl.PROTOCOL_TLS_CLIENT,
    )
    return Server(
        settings.url,
        use_ssl=settings.url.startswith("ldaps://"),
        tls=tls,
        connect_timeout=settings.timeout,
        get_info=NONE,
    )


def _connect(settings: LdapSettings, server: Any, user: str, password: str) -> Any:
    """An open, TLS-protected connection bound as `user`; None when the bind was
    refused (wrong password)."""
    from ldap3 import Connection

    connection = Connection(
        server,
        user=user,
        password=password,
        receive_timeout=max(1, int(settings.timeout)),
        raise_exceptions=False,
        read_only=True,
    )
    connection.open()
    if settings.start_tls and not settings.url.startswith("ldaps://"):
        from ldap3.core.exceptions import LDAPStartTLSError

        if not connection.start_tls():
            raise LDAPStartTLSError(f"StartTLS refused: {connection.result}")
    if not connection.bind():
        code = (connection.result or {}).get("result")
        connection.unbind()
        if code == INVALID_CREDENTIALS:
            return None
        from ldap3.core.exceptions import LDAPBindError

        raise LDAPBindError(f"bind failed: {connection.result}")
    return connection


def _sign_in(settings: LdapSettings, username: str, password: str) -> Identity:
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import escape_rdn

    server = _server(settings)
    member_of: list[str] = []
    if settings.user_dn:
        user_dn = settings.user_dn.format(username=escape_rdn(username))
    else:
        service = _connect(settings, server, settings.bind_dn, settings.bind_password)
        if service is None:
            raise DirectoryUnavailable(
                f"The {settings.name}'s service account (bind_dn) was refused: check "
                "bind_dn and bind_password in the sign-in file. The token still signs in."
            )
        try:
            service.search(
                settings.user_base,
                settings.user_filter.format(username=escape_filter_chars(username)),
                attributes=["memberOf"],
                size_limit=2,
            )
            entries = list(service.entries)
        finally:
            service.unbind()
        if len(entries) != 1:
            raise SignInRefused(WRONG)
        user_dn = entries[0].entry_dn
        member_of = _values(entries[0], "memberOf")
    connection = _connect(settings, server, user_dn, password)
    if connection is None:
        raise SignInRefused(WRONG)
    try:
        groups = member_of + _groups(settings, connection, user_dn, username)
    finally:
        connection.unbind()
    role = settings.mapping.role_for(groups)
    if role is None:
        raise SignInRefused(
            f"{username} is known to the {settings.name}, but no group of theirs gives a "
            "role in this Orchestrator. Ask an admin."
        )
    return Identity(username, "ldap", role)


def _groups(settings: LdapSettings, connection: Any, user_dn: str, username: str) -> list[str]:
    """The names and DNs of the user's groups (searched as the user)."""
    from ldap3.utils.conv import escape_filter_chars

    found: list[str] = []
    if settings.group_base:
        connection.search(
            settings.group_base,
            settings.group_filter.format(
                user_dn=escape_filter_chars(user_dn), username=escape_filter_chars(username)
            ),
            attributes=[settings.group_name_attribute],
        )
        for entry in connection.entries:
            found.append(entry.entry_dn)
            found.extend(_values(entry, settings.group_name_attribute))
    if not found and settings.user_dn:
        # AD and many servers list the user's groups on the user entry itself.
        connection.search(user_dn, "(objectClass=*)", search_scope="BASE", attributes=["memberOf"])
        for entry in connection.entries:
            found.extend(_values(entry, "memberOf"))
    return found


def _values(entry: Any, attribute: str) -> list[str]:
    try:
        return [str(value) for value in entry[attribute].values]
    except (KeyError, IndexError, AttributeError):
        return []
    except Exception:  # ldap3 raises its own error for an attribute not returned
        return []

"""LDAP sign-in against a real OpenLDAP server (slapd, started by the test): direct bind
and search-then-bind, groups mapped to roles, TLS verified, wrong passwords and a
server that is down refused with clear messages."""

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from openorch.identity import Identity
from openorch.ldap_sign_in import DirectoryUnavailable, SignInRefused, ldap_sign_in
from openorch.sign_in_config import LdapSettings, RoleMapping
from support.slapd import SERVICE_DN, SERVICE_PASSWORD, SUFFIX, USERS, Directory
from support.slapd import running_directory as start_directory

MAPPING = RoleMapping(
    {
        f"cn=orch-admins,ou=groups,{SUFFIX}": "admin",
        "orch-operators": "operator",
        "ORCH-REVIEWERS": "reviewer",
    }
)


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    with start_directory(tmp_path_factory.mktemp("slapd")) as running:
        yield running


def direct(directory: Directory) -> LdapSettings:
    return LdapSettings(
        url=directory.ldaps_url,
        ca_file=str(directory.ca_file),
        user_dn=f"uid={{username}},ou=people,{SUFFIX}",
        group_base=f"ou=groups,{SUFFIX}",
        mapping=MAPPING,
    )


def test_direct_bind_maps_groups_to_roles(directory: Directory) -> None:
    settings = direct(directory)
    assert ldap_sign_in(settings, "ada", USERS["ada"]) == Identity("ada", "ldap", "admin")
    assert ldap_sign_in(settings, "olga", USERS["olga"]).role == "operator"
    assert ldap_sign_in(settings, "rita", USERS["rita"]).role == "reviewer"


def test_search_then_bind_over_start_tls(directory: Directory) -> None:
    settings = replace(
        direct(directory),
        url=directory.ldap_url,
        start_tls=True,
        user_dn="",
        bind_dn=SERVICE_DN,
        bind_password=SERVICE_PASSWORD,
        user_base=f"ou=people,{SUFFIX}",
    )
    assert ldap_sign_in(settings, "olga", USERS["olga"]).role == "operator"
    with pytest.raises(SignInRefused, match="not right"):
        ldap_sign_in(settings, "olga", "wrong")
    with pytest.raises(SignInRefused, match="not right"):
        ldap_sign_in(settings, "nobody", "whatever")
    # A filter injection finds nobody.
    with pytest.raises(SignInRefused):
        ldap_sign_in(settings, "*", USERS["olga"])
    with pytest.raises(DirectoryUnavailable, match="service account"):
        ldap_sign_in(replace(settings, bind_password="wrong"), "olga", USERS["olga"])


def test_wrong_and_empty_passwords_are_refused(directory: Directory) -> None:
    settings = direct(directory)
    with pytest.raises(SignInRefused, match="not right"):
        ldap_sign_in(settings, "ada", "not-her-password")
    # An empty password would be an unauthenticated bind, which slapd accepts.
    with pytest.raises(SignInRefused, match="Enter your user name and password"):
        ldap_sign_in(settings, "ada", "")


def test_no_group_no_role_unless_a_default(directory: Directory) -> None:
    settings = direct(directory)
    with pytest.raises(SignInRefused, match="no group of theirs"):
        ldap_sign_in(settings, "nils", USERS["nils"])
    viewer_default = replace(settings, mapping=replace(MAPPING, default_role="viewer"))
    assert ldap_sign_in(viewer_default, "nils", USERS["nils"]).role == "viewer"


def test_an_untrusted_certificate_is_refused(directory: Directory, tmp_path: Path) -> None:
    from support.tls import make_certificate

    other_ca, _key = make_certificate(tmp_path)
    with pytest.raises(DirectoryUnavailable, match="certificate"):
        ldap_sign_in(replace(direct(directory), ca_file=str(other_ca)), "ada", USERS["ada"])


def test_server_down_says_so(tmp_path: Path) -> None:
    with start_directory(tmp_path / "down") as stopped:
        settings = direct(stopped)
        assert ldap_sign_in(settings, "ada", USERS["ada"]).role == "admin"
        stopped.stop()
        with pytest.raises(DirectoryUnavailable, match=r"does not answer.*token"):
            ldap_sign_in(settings, "ada", USERS["ada"])

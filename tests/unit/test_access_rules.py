"""The Orchestrator's access rules on their own: which Host headers and Origins pass,
which listen addresses need an admin token, how the token compares."""

from pathlib import Path

import pytest

from openorch.orchestrator.access import (
    ENV_TOKEN,
    AccessError,
    AccessSettings,
    is_loopback,
    make_settings,
    read_admin_token,
)

LOCAL = AccessSettings(token="t" * 43, admin_set=False, port=8080)
PROXIED = AccessSettings(
    token="t" * 43,
    admin_set=True,
    port=8080,
    allowed_hosts=("orch.example.org", "alt.example.org:8443"),
)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:8080",
        "localhost:8080",
        "[::1]:8080",
        "LOCALHOST:8080",
        "10.1.2.3:8080",
        "127.0.0.1",
    ],
)
def test_addresses_and_localhost_pass(host: str) -> None:
    assert LOCAL.host_allowed(host)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:8080",
        "evil.example",
        "localhost.evil:8080",
        "127.0.0.1.nip.io:8080",
        "",
        "[::1",
        "orch.example.org",
    ],
)
def test_other_names_are_refused(host: str) -> None:
    assert not LOCAL.host_allowed(host)


def test_allow_host_names_pass_host_and_origin() -> None:
    assert PROXIED.host_allowed("orch.example.org")
    assert PROXIED.host_allowed("alt.example.org:8443")
    # The proxy rewrites Host to the upstream; the browser's Origin is the public name.
    assert PROXIED.origin_allowed("https://orch.example.org", "127.0.0.1:8080")
    assert PROXIED.origin_allowed("https://alt.example.org:8443", "127.0.0.1:8080")
    assert not PROXIED.origin_allowed("https://alt.example.org", "127.0.0.1:8080")
    assert not PROXIED.origin_allowed("https://orch.example.org.evil", "127.0.0.1:8080")


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080", False),
        ("http://127.0.0.1:9999", False),
        ("http://evil.example", False),
        ("null", False),
        ("file://", False),
        ("", False),
        ("javascript:alert(1)", False),
    ],
)
def test_an_origin_must_be_the_pages_own(origin: str, ok: bool) -> None:
    assert LOCAL.origin_allowed(origin, "127.0.0.1:8080") is ok


def test_token_comparison_and_cookie_name() -> None:
    assert LOCAL.token_matches("t" * 43)
    assert not LOCAL.token_matches("t" * 42) and not LOCAL.token_matches(None)
    assert not LOCAL.token_matches("é" * 43)
    assert LOCAL.cookie_name == "openorch-orchestrator-8080"
    assert LOCAL.login_url == f"http://127.0.0.1:8080/?token={'t' * 43}"


def test_loopback_and_wildcard_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.0.0.2") and is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")


def test_a_network_address_needs_an_admin_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    with pytest.raises(AccessError, match=r"Refusing to listen on 0\.0\.0\.0"):
        make_settings(8080, "0.0.0.0")
    generated = make_settings(8080, "127.0.0.1")
    assert not generated.admin_set and len(generated.token) >= 40
    assert make_settings(8080).token != generated.token  # random each start
    monkeypatch.setenv(ENV_TOKEN, "x" * 20)
    opened = make_settings(8080, "0.0.0.0")
    assert opened.admin_set and opened.token == "x" * 20
    monkeypatch.setenv(ENV_TOKEN, "short")
    with pytest.raises(AccessError, match="shorter than 16"):
        read_admin_token()
    token_file = tmp_path / "token"
    token_file.write_text("y" * 30 + "\n")
    assert read_admin_token(token_file) == "y" * 30  # the file wins over the environment
    with pytest.raises(AccessError, match="Cannot read"):
        read_admin_token(tmp_path / "missing")

"""Sign-in with OpenID Connect through a real provider (`oidc-provider-mock`, a
standard-conforming provider built on authlib) driven by headless Chromium: the
authorization code flow with PKCE signs a person in with the role their groups claim
maps to; an expired ID token and a token for another application are refused; the
token still signs in. Also LDAP through the sign-in form (a real slapd)."""

import contextlib
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from openorch.identity import Identity
from openorch.orchestrator.oidc_sign_in import OidcRefused, OidcSignIn
from openorch.private_files import write_private
from openorch.sign_in_config import load_sign_in
from openorch.sign_in_limiter import PER_ADDRESS
from support.browser import CHROMEDRIVER, CHROMIUM, Page, chromium, running_orchestrator
from support.databases import missing
from support.slapd import SUFFIX, USERS, running_directory

CLIENT_ID = "openorch-test"


#: The provider's people: who they are and their groups.
PEOPLE = [
    {"sub": "ada", "preferred_username": "ada", "groups": ["orch-admins"]},
    {"sub": "olga", "preferred_username": "olga", "groups": ["orch-operators"]},
    {"sub": "nils", "preferred_username": "nils", "groups": ["elsewhere"]},
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def provider(max_age: int = 3600) -> Iterator[str]:
    """A running OpenID provider (its own process); yields its issuer URL. A negative
    `max_age` makes it issue ID tokens that expired that long ago."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "-p", str(port), "-H", "127.0.0.1"]
        + ["--require-nonce", "true", f"--token-max-age={max_age}"]
        + [f"--user-claims={json.dumps(person)}" for person in PEOPLE],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(issuer + "/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the OpenID provider did not start")
            time.sleep(0.1)
        yield issuer
    finally:
        process.terminate()
        process.wait(10)


def sign_in_file(folder: Path, issuer: str, ldap: str = "") -> Path:
    text = f"""
[oidc]
name = "Test ID"
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
client_secret = "a-client-secret-never-shown"
roles_claim = "groups"
[oidc.roles]
orch-admins = "admin"
orch-operators = "operator"
{ldap}"""
    return write_private(folder / "sign-in.toml", text)


@contextlib.contextmanager
def orchestrator(tmp_path: Path, config: Path, db_url: str, key: str) -> Iterator[str]:
    """`openorch o` with the sign-in file; yields the address with the token."""
    with running_orchestrator(tmp_path, db_url, key, "--sign-in-file", str(config)) as (
        address,
        log_path,
    ):
        try:
            yield address
        finally:
            assert "a-client-secret-never-shown" not in log_path.read_text()


def sign_in_with_provider(page: Page, base: str, sub: str) -> None:
    """Click "Sign in with Test ID" on the login page, pick `sub` at the provider."""
    from selenium.webdriver.common.by import By

    page.driver.get(base + "login")
    page.wait.until(lambda d: d.find_elements(By.ID, "oidc"))
    page.driver.find_element(By.ID, "oidc").click()
    page.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'button[value="{sub}"]'))
    page.driver.find_element(By.CSS_SELECTOR, f'button[value="{sub}"]').click()


def problem_text(page: Page) -> str:
    from selenium.webdriver.common.by import By

    page.wait.until(lambda d: d.find_elements(By.ID, "problem"))
    return str(page.driver.find_element(By.ID, "problem").text)


@pytest.mark.slow
def test_code_flow_signs_in_with_the_role_from_the_claim(
    tmp_path: Path, sqlite_db_url: str, crypto_key: str
) -> None:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing("chromium")
    with (
        provider() as issuer,
        orchestrator(
            tmp_path, sign_in_file(tmp_path, issuer), sqlite_db_url, crypto_key
        ) as address,
        chromium() as driver,
    ):
        base = address.split("?")[0]
        page = Page(driver)
        sign_in_with_provider(page, base, "olga")
        assert page.by_id("signed_in_as").text == "olga (oidc) · operator"
        # An operator's page has no admin-only buttons.
        page.by_id("tab_constants").click()
        page.by_id("constants_table")
        hidden = driver.find_elements("css selector", '[data-testid="constant_new_button"]')
        assert not any(button.is_displayed() for button in hidden)
        assert "a-client-secret-never-shown" not in driver.page_source

        # Nobody mapped: refused with a clear message.
        driver.delete_all_cookies()
        driver.execute_script("localStorage.clear()")
        sign_in_with_provider(page, base, "nils")
        assert "gives a role" in problem_text(page)

        # A new session per sign-in, with the admin's role for ada.
        sign_in_with_provider(page, base, "ada")
        assert page.by_id("signed_in_as").text == "ada (oidc) · admin"

        # The token still signs in (break-glass), as the token admin.
        driver.delete_all_cookies()
        driver.get(address)
        assert page.by_id("signed_in_as").text == "admin (token) · admin"


@pytest.mark.slow
def test_an_expired_id_token_is_refused(
    tmp_path: Path, sqlite_db_url: str, crypto_key: str
) -> None:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing("chromium")
    with (
        provider(max_age=-600) as issuer,
        orchestrator(
            tmp_path, sign_in_file(tmp_path, issuer), sqlite_db_url, crypto_key
        ) as address,
        chromium() as driver,
    ):
        page = Page(driver)
        sign_in_with_provider(page, address.split("?")[0], "ada")
        assert re.search(r"not valid: .*expired", problem_text(page), re.IGNORECASE)
        assert "signed_in_as" not in driver.page_source


async def test_a_token_for_another_application_is_refused(tmp_path: Path) -> None:
    """An ID token the provider really issued, signed with its real key, but to another
    client: refused for its audience (the nonce and issuer are right)."""
    with provider() as issuer:
        settings = load_sign_in(sign_in_file(tmp_path, issuer)).oidc
        assert settings is not None
        flow = OidcSignIn(settings)
        nonce = "the-nonce"
        async with httpx.AsyncClient(base_url=issuer, follow_redirects=False) as client:
            answer = await client.post(
                "/oauth2/authorize",
                params={
                    "client_id": "another-app",
                    "redirect_uri": "http://127.0.0.1/cb",
                    "response_type": "code",
                    "scope": "openid",
                    "nonce": nonce,
                    "state": "s",
                },
                data={"sub": "ada"},
            )
            code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
            tokens = await client.post(
                "/oauth2/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": "http://127.0.0.1/cb",
                },
                auth=("another-app", "any"),
            )
        id_token = tokens.json()["id_token"]
        with pytest.raises(OidcRefused, match="aud"):
            await flow.validate(id_token, nonce)
        # The same token is accepted by the application it was issued to.
        other = OidcSignIn(type(settings)(**{**settings.__dict__, "client_id": "another-app"}))
        claims = await other.validate(id_token, nonce)
        assert other.identity(claims) == Identity("ada", "oidc", "admin")
        with pytest.raises(OidcRefused, match="nonce"):
            await other.validate(id_token, "another-nonce")


@pytest.mark.slow
def test_ldap_through_the_sign_in_form(tmp_path: Path, sqlite_db_url: str, crypto_key: str) -> None:
    """The form's user name and password checked by a real slapd; a wrong password is a
    clear refusal; with the directory down the page says so and the token still works."""
    with running_directory(tmp_path / "slapd") as directory, provider() as issuer:
        ldap = f"""
[ldap]
url = "{directory.ldaps_url}"
ca_file = "{directory.ca_file}"
user_dn = "uid={{username}},ou=people,{SUFFIX}"
group_base = "ou=groups,{SUFFIX}"
[ldap.roles]
orch-operators = "operator"
"""
        config = sign_in_file(tmp_path, issuer, ldap)
        with orchestrator(tmp_path, config, sqlite_db_url, crypto_key) as address:
            base = address.split("?")[0]
            host = urlsplit(base).netloc
            with httpx.Client(base_url=base, headers={"Host": host}) as client:
                page = client.get("/login", headers={"Accept": "text/html"}).text
                assert "ldap-form" in page and "Sign in with Test ID" in page
                wrong = client.post("/login", data={"username": "olga", "password": "nope"})
                assert wrong.status_code == 401 and "not right" in wrong.text
                blank = client.post("/login", data={"username": "", "password": "x"})
                assert blank.status_code == 401 and "Enter your user name" in blank.text
                right = client.post("/login", data={"username": "olga", "password": USERS["olga"]})
                assert right.status_code == 200 and "openorch.session" in right.text
                # Password guesses count as failed sign-ins: an address that made too
                # many waits, right password or not (the server trusts X-Forwarded-For
                # from 127.0.0.1, so these come "from" 198.51.100.7).
                guesser = {"X-Forwarded-For": "198.51.100.7"}
                wrong_form = {"username": "olga", "password": "guess"}
                with ThreadPoolExecutor(PER_ADDRESS) as pool:
                    answers = list(
                        pool.map(
                            lambda _n: client.post("/login", data=wrong_form, headers=guesser),
                            range(PER_ADDRESS),
                        )
                    )
                assert {answer.status_code for answer in answers} == {401}
                right_form = {"username": "olga", "password": USERS["olga"]}
                locked = client.post("/login", data=right_form, headers=guesser)
                assert locked.status_code == 429 and "Too many" in locked.text
                directory.stop()
                down = client.post("/login", data={"username": "olga", "password": USERS["olga"]})
                assert down.status_code == 503 and "cannot be used right now" in down.text
                token = parse_qs(urlsplit(address).query)["token"][0]
                assert client.post("/login", data={"token": token}).status_code == 200


async def test_a_callback_needs_the_state_this_browser_started() -> None:
    """A callback without this browser's state cookie (a sign-in started elsewhere: login
    CSRF), with an unknown state, or replayed, is refused before the provider is asked."""
    from openorch.sign_in_config import OidcSettings, RoleMapping

    flow = OidcSignIn(
        OidcSettings("http://127.0.0.1:9", "app", "secret", mapping=RoleMapping({}, "viewer"))
    )
    with pytest.raises(OidcRefused, match="not started in this browser"):
        await flow.finish({"state": "s", "code": "c"}, None)
    with pytest.raises(OidcRefused, match="not started in this browser"):
        await flow.finish({"state": "s", "code": "c"}, "another")
    with pytest.raises(OidcRefused, match="expired or was already used"):
        await flow.finish({"state": "s", "code": "c"}, "s")
    with pytest.raises(OidcRefused, match="access_denied"):
        await flow.finish({"error": "access_denied"}, "s")

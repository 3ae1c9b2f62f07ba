"""Small helpers for the Orchestrator tests."""

import asyncio
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from nicegui import ui
from nicegui.testing.user import User

from openorch.identity import Identity
from openorch.orchestrator import access
from openorch.orchestrator.frame import PAGES
from openorch.orchestrator.main import READ_SECRET_JS


async def sign_in(user: User) -> None:
    """Visit the address `openorch o` prints (with the token), as an admin's browser
    does: the server answers with the session cookie, which the simulated browser keeps
    for every later request, and a page whose script keeps the session secret in
    localStorage — the simulation answers the page's question for it with that secret.
    The Host header is the printed address's, as a browser's is (the simulation's own
    `http://test` is no name this server answers to).

    `user.open` then waits until the page has shown its secret and built the
    Orchestrator (an empty shell comes first)."""
    address = urlsplit(access.current().login_url)
    user.http_client.headers["Host"] = address.netloc
    response = await user.http_client.get(f"{address.path}?{address.query}")
    assert response.status_code == 200, response.text
    assert access.current().cookie_name in user.http_client.cookies
    found = re.search(r'localStorage\.setItem\("openorch\.session", "([^"]+)"\)', response.text)
    assert found, response.text
    _answer_secret(user, found.group(1))


async def sign_in_as(user: User, identity: Identity) -> None:
    """Sign the simulated browser in as `identity`, as the sign-in page does after an
    OpenID Connect or LDAP sign-in (those are tested with a real provider and a real
    directory in test_sign_in_*.py): a new session of that identity, its cookie and
    its secret."""
    guard = access.current_guard()
    session_id, secret = guard.sessions.create(identity)
    address = urlsplit(guard.settings.login_url)
    user.http_client.headers["Host"] = address.netloc
    user.http_client.cookies.clear()
    user.http_client.cookies.set(guard.settings.cookie_name, session_id)
    _answer_secret(user, secret)


def _answer_secret(user: User, secret: str) -> None:
    """Answer the page's question for its session secret with `secret`, and make
    `user.open` wait until the page is built."""
    user.javascript_rules[re.compile(re.escape(READ_SECRET_JS))] = lambda _match: secret
    if not getattr(user, "_openorch_waits", False):
        original_open = user.open

        async def open_and_wait(path: str, **kwargs: Any) -> Any:
            client = await original_open(path, **kwargs)
            await until(lambda: client in PAGES or client.is_deleted, timeout=15)
            return client

        user.open = open_and_wait  # type: ignore[method-assign]
        user._openorch_waits = True  # type: ignore[attr-defined]


async def until(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Wait until `check()` is truthy (handlers run database calls in a worker thread)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {check}")
        await asyncio.sleep(0.02)


def one(user: User, marker: str) -> Any:
    """The single visible element with this test id."""
    elements = user.find(marker=marker).elements
    assert len(elements) == 1, f"{len(elements)} elements marked {marker!r}"
    return next(iter(elements))


async def show_tab(user: User, name: str) -> None:
    """Click a header tab and let its refresh finish."""
    user.find(marker=f"tab_{name.lower()}").click()
    await until(lambda: one(user, "tab_panels").value == name)
    await asyncio.sleep(0.1)


def table_rows(user: User, marker: str) -> list[dict[str, Any]]:
    """The rows a table holds now."""
    table = one(user, marker)
    assert isinstance(table, ui.table)
    return list(table.rows)


def has(user: User, marker: str) -> bool:
    """True when a visible element carries this test id."""
    try:
        return bool(user.find(marker=marker).elements)
    except AssertionError:
        return False


async def click_and_wait(user: User, button: str, appears: str) -> None:
    """Click a button whose (async) handler opens something, and wait for it."""
    user.find(marker=button).click()
    await until(lambda: has(user, appears))


def set_value(user: User, marker: str, value: Any) -> None:
    """Set an input's value as a browser would (for inputs `type()` cannot fill)."""
    element = one(user, marker)
    with user.client:  # type: ignore[union-attr]
        element.value = value


def click_row(user: User, marker: str, row: dict[str, Any]) -> None:
    """Click a table row (NiceGUI registers `row-click` as `rowClick`)."""
    user.find(marker=marker).trigger("rowClick", [{}, row, 0])

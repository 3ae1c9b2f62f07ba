"""Issue 23 F2: another local user's server on another port of 127.0.0.1 collects the
Orchestrator's cookie (cookies are scoped by host, not port) — and that cookie opens
nothing.

A real `openorch o`, the admin in Chromium (signed in with the printed address), a real
HTTP server on another port that records what the admin's browser sends it, then the
collected cookie replayed: by an HTTP client for the page, by a socket.io client for
the websocket (which even answers the page's question for the secret), and by a second
Chromium profile. Each is refused and receives nothing of the app; the admin's page
works on; "Sign out every browser" ends the session for good. Run against the code
before the fix (the cookie was the whole sign-in), the replays got the app."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from openorch.store import Store
from support.browser import chromium

SRC = Path(__file__).resolve().parents[3] / "src"
#: What only the app shows: a trigger and a constant seeded in the database, and the
#: test ids of the page's own elements.
TRIGGER = "Payroll run 7f3a"
CONSTANT = "smtp.marker-9c1e.example"
APP_MARKERS = (TRIGGER, CONSTANT, "settings_connect_button", "tab_triggers", "header_tabs")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Collector:
    """Another local user's web server: records the headers of every request."""

    port: int
    seen: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def collector() -> Iterator[Collector]:
    record = Collector(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            record.seen.append({name.lower(): value for name, value in self.headers.items()})
            body = b"<html><body>nothing to see</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", record.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield record
    server.shutdown()
    server.server_close()


@dataclass
class Orchestrator:
    port: int
    address: str  # the printed address, with the token
    output: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def orchestrator(sqlite_db_url: str, crypto_key: str, tmp_path: Path) -> Iterator[Orchestrator]:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    store.create_single_trigger(
        TRIGGER, "payroll", datetime.now() + timedelta(days=1), "payroll.py", None, False, True
    )
    store.create_constant("Mail server", CONSTANT)
    store.close()
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "NICEGUI", "OpenOrchestrator", "OPENORCH"))
    }
    env["PYTHONPATH"] = f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    env["OPENORCH_HOME"] = str(tmp_path / "home")
    output = tmp_path / "orchestrator.txt"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "openorch", "o", "-d", "-p", str(port)),
                *("--conn", sqlite_db_url, "--key", crypto_key),
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 60
        while not (
            found := re.search(rf"http://127\.0\.0\.1:{port}/\?token=\S+", output.read_text())
        ):
            assert process.poll() is None and time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
        yield Orchestrator(port, found.group(0), output)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(check: Any, timeout: float = 20.0, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, message or f"never true: {check}"
        time.sleep(0.1)


def by_test_id(driver: Any, test_id: str) -> Any:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{test_id}"]')
    return found[0] if found and found[0].is_displayed() else None


def click(driver: Any, test_id: str) -> None:
    """Click once the element is there and nothing covers it (a tab panel still sliding
    in receives the click for a moment)."""
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        StaleElementReferenceException,
    )

    def clicked() -> bool:
        element = by_test_id(driver, test_id)
        if not element:
            return False
        try:
            element.click()
        except (ElementClickInterceptedException, StaleElementReferenceException):
            return False
        return True

    wait_for(clicked, message=f"no clickable {test_id}")


def replay_websocket(orchestrator: Orchestrator, cookie: str, page: str) -> list[Any]:
    """Be the page's websocket with the collected cookie, as a script would: connect as
    the client of the shell `page`, answer the question for the secret with a guess, and
    return every message the server sent."""
    import socketio

    client_id = re.search(r"'client_id': '([0-9a-f-]+)'", page)
    assert client_id, page[:500]
    received: list[Any] = []
    sio = socketio.Client(reconnection=False)

    @sio.on("*")
    def anything(event: str, data: Any = None) -> None:
        received.append([event, data])
        if event == "run_javascript" and isinstance(data, dict) and data.get("request_id"):
            sio.emit(
                "javascript_response",
                {
                    "client_id": client_id.group(1),
                    "request_id": data["request_id"],
                    "result": "a-guessed-secret",
                },
            )

    query = (
        f"client_id={client_id.group(1)}&tab_id=t-1&document_id=d-1"
        "&implicit_handshake=true&next_message_id=0"
    )
    sio.connect(
        f"{orchestrator.base}?{query}",
        headers={"Cookie": cookie, "Origin": orchestrator.base},
        socketio_path="/_nicegui_ws/socket.io",
        transports=["websocket"],
        wait_timeout=10,
    )
    try:
        # Until the server sends the socket away (or, were it fooled, the app arrives).
        wait_for(
            lambda: any(
                text in json.dumps(received)
                for text in ("location.replace('/login')", *APP_MARKERS)
            ),
            message="the replayed socket got neither the app nor sent away",
        )
        time.sleep(1)  # anything else the server would still send
    finally:
        sio.disconnect()
    return received


def assert_no_app(text: str, who: str) -> None:
    for marker in APP_MARKERS:
        assert marker not in text, f"{who} received {marker!r}"


@pytest.mark.slow
def test_a_cookie_collected_on_another_port_opens_nothing(
    orchestrator: Orchestrator, collector: Collector
) -> None:
    with chromium() as admin:
        # The admin signs in with the printed address and sees the app and its data.
        admin.get(orchestrator.address)
        click(admin, "settings_connect_button")
        click(admin, "tab_constants")
        wait_for(lambda: CONSTANT in admin.page_source, message="the admin never saw the data")
        assert "token=" not in admin.current_url

        # The admin's browser visits another local user's server (a link, a redirect):
        # it sends the Orchestrator's cookie along, port or no port.
        admin.get(f"http://127.0.0.1:{collector.port}/")
        wait_for(lambda: collector.seen, message="the collector saw no request")
        cookie_name = f"openorch-orchestrator-{orchestrator.port}"
        cookie = collector.seen[-1].get("cookie", "")
        assert cookie_name in cookie, collector.seen  # the leak the design must survive
        stolen = next(
            part.strip() for part in cookie.split(";") if part.strip().startswith(cookie_name)
        )

        # Replayed by an HTTP client: the page is an empty shell.
        headers = {"Cookie": stolen, "Accept": "text/html"}
        shell = httpx.get(f"{orchestrator.base}/", headers=headers, timeout=15)
        assert shell.status_code == 200 and "session_pending" in shell.text
        assert_no_app(shell.text, "the replayed page request")

        # Replayed on the websocket, guessing the secret: sent to the login page, and
        # not one element of the app on the way.
        received = replay_websocket(orchestrator, stolen, shell.text)
        assert_no_app(json.dumps(received), "the replayed websocket")
        assert "location.replace('/login')" in json.dumps(received)
        assert "Failed sign-in with a wrong session secret" in orchestrator.output.read_text()

        # Replayed by a second browser profile holding the cookie: the login page.
        with chromium() as thief:
            thief.get(f"{orchestrator.base}/login")
            thief.add_cookie({"name": cookie_name, "value": stolen.split("=", 1)[1], "path": "/"})
            thief.get(f"{orchestrator.base}/")
            wait_for(lambda: thief.current_url.endswith("/login"), message=thief.current_url)
            wait_for(lambda: 'name="token"' in thief.page_source)
            assert_no_app(thief.page_source, "the second profile")

        # The admin's own session works on (going back loads the page anew).
        admin.back()
        click(admin, "settings_connect_button")
        click(admin, "tab_triggers")
        wait_for(lambda: TRIGGER in admin.page_source, message="the admin lost the page")

        # Sign out every browser: the admin's page goes to the login page, and the
        # cookie stops even opening the shell.
        click(admin, "tab_settings")
        click(admin, "settings_sign_out_all_button")
        click(admin, "question_popup_yes_button")
        wait_for(lambda: admin.current_url.endswith("/login"), message=admin.current_url)
        assert admin.execute_script("return localStorage.getItem('openorch.session')") is None
    after = httpx.get(f"{orchestrator.base}/", headers=headers, timeout=15)
    assert after.status_code == 401 and "session_pending" not in after.text

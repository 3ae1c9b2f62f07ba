"""Who gets into a real `openorch o` (a subprocess in local mode, as an admin starts it):
only a browser that brought the token. Requests are made the way another local user or
a hostile page would make them: plain HTTP (what `curl` sends), a forged Host header, a
foreign Origin, a websocket handshake by hand."""

import base64
import http.client
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from openorch.sign_in_limiter import PER_ADDRESS, WINDOW_SECONDS

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes and signals")

SRC = Path(__file__).resolve().parents[3] / "src"


@dataclass
class Server:
    """A running Orchestrator: its port, printed token, output and local-mode folder."""

    process: subprocess.Popen[bytes]
    port: int
    output: Path
    home: Path
    token: str = ""

    def text(self) -> str:
        return self.output.read_text(errors="replace")


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def admin_env(home: Path, **extra: str) -> dict[str, str]:
    """An admin's shell: not under pytest, nothing configured (local mode)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "NICEGUI", "OpenOrchestrator", "OPENORCH"))
    }
    env["PYTHONPATH"] = f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    env["OPENORCH_HOME"] = str(home)
    env.update(extra)
    return env


def start_server(
    folder: Path,
    *args: str,
    env: dict[str, str] | None = None,
    wait_for: str = "Orchestrator running on",
    show: bool = False,
) -> Server:
    port = free_port()
    output = folder / f"orchestrator-{port}.txt"
    home = folder / "home"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openorch",
                "o",
                *([] if show else ["-d"]),
                "-p",
                str(port),
                *args,
            ],
            cwd=folder,
            env=env or admin_env(home),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, output, home)
    deadline = time.monotonic() + 60
    while wait_for not in server.text():
        if process.poll() is not None:
            return server
        assert time.monotonic() < deadline, server.text()
        time.sleep(0.1)
    found = re.search(r"\?token=(\S+)", server.text())
    server.token = found.group(1) if found else ""
    return server


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
        try:
            server.process.wait(20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def request(
    port: int,
    path: str,
    *,
    host: str | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Reply:
    """One HTTP request with exactly these headers (Host included), like `curl -H`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    connection.putheader("Host", host or f"127.0.0.1:{port}")
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    if body is not None:
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    reply = Reply(response.status, response.headers, response.read().decode(errors="replace"))
    connection.close()
    return reply


def websocket_status(
    port: int, *, origin: str | None, cookie: str | None, host: str | None = None
) -> int:
    """The HTTP status a websocket handshake to NiceGUI's socket gets (101 = accepted)."""
    lines = [
        "GET /_nicegui_ws/socket.io/?EIO=4&transport=websocket HTTP/1.1",
        f"Host: {host or f'127.0.0.1:{port}'}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    if cookie is not None:
        lines.append(f"Cookie: {cookie}")
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = sock.makefile("rb").readline().decode()
    return int(status_line.split()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One Orchestrator in local mode for the module's tests."""
    running = start_server(tmp_path_factory.mktemp("access"))
    assert running.process.poll() is None, running.text()
    assert running.token, running.text()
    yield running
    stop(running)


def sign_in(server: Server) -> str:
    """The cookie a browser gets for the printed address, as a `Cookie:` header value
    (the page that comes with it keeps the session secret in localStorage)."""
    reply = request(
        server.port, "/?" + urlencode({"token": server.token}), headers={"Accept": "text/html"}
    )
    assert reply.status == 200, reply
    assert 'localStorage.setItem("openorch.session"' in reply.body
    assert 'location.replace("/")' in reply.body
    cookie = reply.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie, cookie
    assert server.token not in cookie and server.token not in reply.body
    value = cookie.split(";", 1)[0]
    assert value.split("=", 1)[1] not in reply.body  # the secret is not the cookie
    return value


def local_key(server: Server) -> str:
    return (server.home / "openorch.key").read_text().strip()


@pytest.mark.slow
def test_a_request_without_the_token_gets_no_app_and_no_key(server: Server) -> None:
    cookie = sign_in(server)
    app = request(server.port, "/", headers={"Accept": "text/html", "Cookie": cookie})
    assert app.status == 200 and "client_id" in app.body  # the app, for the admin
    key = local_key(server)  # local mode made it while serving the admin's page
    # What another local user gets with curl, with or without guessing.
    for path in (
        "/",
        "/?token=guess",
        "/_nicegui_ws/socket.io/?EIO=4&transport=polling",
        "/_nicegui/3.0.0/static/nicegui.js",
        "/favicon.ico",
        "/docs",
    ):
        for accept in ("text/html", "*/*"):
            reply = request(server.port, path, headers={"Accept": accept})
            assert reply.status == 401, (path, reply.status)
            assert "client_id" not in reply.body and "nicegui" not in reply.body.lower()
            assert key not in reply.body
            assert "Set-Cookie" not in reply.headers
    login = request(server.port, "/", headers={"Accept": "text/html"})
    assert "needs its token" in login.body and 'name="token"' in login.body
    assert (
        websocket_status(server.port, origin=f"http://127.0.0.1:{server.port}", cookie=None) != 101
    )
    assert (
        websocket_status(
            server.port,
            origin=f"http://127.0.0.1:{server.port}",
            cookie="openorch-orchestrator-1=forged",
        )
        != 101
    )


@pytest.mark.slow
def test_the_page_source_holds_neither_the_key_nor_the_token(server: Server) -> None:
    cookie = sign_in(server)
    page = request(server.port, "/", headers={"Accept": "text/html", "Cookie": cookie})
    # The cookie opens only an empty shell: the Orchestrator is built over the websocket
    # once the page has shown its session secret (test_session_theft.py).
    assert page.status == 200 and "session_pending" in page.body
    assert "settings_key_input" not in page.body and "the key file" not in page.body
    assert local_key(server) not in page.body
    assert server.token not in page.body


@pytest.mark.slow
def test_the_login_form_trades_the_token_for_the_cookie(server: Server) -> None:
    origin = {
        "Origin": f"http://127.0.0.1:{server.port}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    wrong = request(server.port, "/login", method="POST", headers=origin, body=b"token=wrong-token")
    assert wrong.status == 401 and "not right" in wrong.body
    assert "Set-Cookie" not in wrong.headers
    right = request(
        server.port,
        "/login",
        method="POST",
        headers=origin,
        body=urlencode({"token": server.token}).encode(),
    )
    assert right.status == 200 and "HttpOnly" in right.headers["Set-Cookie"]
    cookie = right.headers["Set-Cookie"].split(";", 1)[0]
    assert request(server.port, "/", headers={"Cookie": cookie}).status == 200


@pytest.mark.slow
def test_a_wrong_host_and_a_foreign_origin_are_refused(server: Server) -> None:
    cookie = sign_in(server)
    port = server.port
    own = f"http://127.0.0.1:{port}"
    # DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends its own cookie
    # (it has one after a rebinding) and Host: evil.example.
    for host in (f"evil.example:{port}", "evil.example", f"localhost.evil.example:{port}"):
        reply = request(port, "/", host=host, headers={"Cookie": cookie})
        assert reply.status == 400 and "client_id" not in reply.body, host
        assert websocket_status(port, origin=f"http://{host}", cookie=cookie, host=host) != 101
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        assert request(port, "/", host=host, headers={"Cookie": cookie}).status == 200
    # A foreign page (another site, or another local server on another port) may not
    # open the websocket or read through socket.io, even with the cookie.
    polling = "/_nicegui_ws/socket.io/?EIO=4&transport=polling"
    for origin in (
        "http://evil.example",
        f"http://127.0.0.1:{port + 1}",
        "null",
        f"https://127.0.0.1:{port}.evil.example",
    ):
        assert websocket_status(port, origin=origin, cookie=cookie) != 101, origin
        assert request(port, polling, headers={"Cookie": cookie, "Origin": origin}).status == 403, (
            origin
        )
    assert websocket_status(port, origin=own, cookie=cookie) == 101  # the page's own
    assert request(port, polling, headers={"Cookie": cookie, "Origin": own}).status == 200


@pytest.mark.slow
def test_every_response_forbids_framing(server: Server) -> None:
    cookie = sign_in(server)
    for headers in ({"Cookie": cookie}, {}):
        reply = request(server.port, "/", headers={"Accept": "text/html", **headers})
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]
        assert reply.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.slow
def test_local_mode_files_are_owner_only(server: Server) -> None:
    from openorch.store import Store

    cookie = sign_in(server)
    assert request(server.port, "/", headers={"Cookie": cookie}).status == 200
    database = server.home / "openorch.db"
    # The page load made the folder and the key; the database is made by the first program
    # that opens local mode (the page's automatic Connect, or a Scheduler) through
    # Store.open(create=True), as here. A connection held open keeps SQLite's -wal and
    # -shm files in place while they are looked at.
    store = Store.open(f"sqlite:///{database}", local_key(server), create=True)
    try:
        store.create_constant("probe", "value")
        with store.engine.connect():
            modes = {
                path.name: stat.S_IMODE(path.stat().st_mode)
                for path in server.home.iterdir()
                if path.is_file()
            }
    finally:
        store.close()
    assert stat.S_IMODE(server.home.stat().st_mode) == 0o700
    for name in ("openorch.db", "openorch.db-wal", "openorch.db-shm", "openorch.key"):
        assert modes.get(name) == 0o600, (name, {k: oct(v) for k, v in modes.items()})
    assert not any(mode & 0o077 for mode in modes.values()), modes


@pytest.mark.slow
def test_a_network_address_needs_a_token_the_admin_set(tmp_path: Path) -> None:
    refused = start_server(tmp_path, "--host", "0.0.0.0")
    assert refused.process.wait(30) == 2, refused.text()
    assert "OPENORCH_ORCHESTRATOR_TOKEN" in refused.text() and "Refusing" in refused.text()

    short = start_server(
        tmp_path,
        "--host",
        "0.0.0.0",
        env=admin_env(tmp_path / "home", OPENORCH_ORCHESTRATOR_TOKEN="short"),
    )
    assert short.process.wait(30) == 2 and "shorter than" in short.text()

    token = "an-admin-token-" + os.urandom(8).hex()
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    opened = start_server(tmp_path, "--host", "0.0.0.0", "--token-file", str(token_file))
    try:
        assert opened.process.poll() is None, opened.text()
        assert token not in opened.text()  # an admin's token is not printed
        assert request(opened.port, "/").status == 401
        reply = request(opened.port, "/?" + urlencode({"token": token}))
        assert reply.status == 200 and "Set-Cookie" in reply.headers
    finally:
        stop(opened)


#: A stand-in browser (webbrowser runs $BROWSER): records its command line, and what the
#: file it was asked to open holds, with that file's mode.
FAKE_BROWSER = """
import json, os, stat, sys
from urllib.parse import urlsplit, unquote
target = sys.argv[1]
record = {"argv": sys.argv[1:]}
if target.startswith("file://"):
    path = unquote(urlsplit(target).path)
    record["content"] = open(path).read()
    record["mode"] = stat.S_IMODE(os.stat(path).st_mode)
    record["path"] = path
with open(os.environ["FAKE_BROWSER_RECORD"], "w") as handle:
    json.dump(record, handle)
"""


@pytest.mark.slow
def test_the_browser_is_opened_signed_in_without_the_token_on_a_command_line(
    tmp_path: Path,
) -> None:
    import json

    script = tmp_path / "fake_browser.py"
    script.write_text(FAKE_BROWSER)
    record = tmp_path / "browser.json"
    env = admin_env(
        tmp_path / "home",
        BROWSER=f"{sys.executable} {script} %s",
        FAKE_BROWSER_RECORD=str(record),
        DISPLAY="",
    )
    server = start_server(tmp_path, env=env, show=True)
    try:
        deadline = time.monotonic() + 30
        while not record.exists():
            assert server.process.poll() is None and time.monotonic() < deadline, server.text()
            time.sleep(0.1)
        time.sleep(0.2)  # let the stand-in finish writing
        opened = json.loads(record.read_text())
        # Other users can read a browser's command line: it holds only a file's address.
        assert server.token and not any(server.token in arg for arg in opened["argv"])
        assert opened["argv"][0].startswith("file://"), opened
        # That file, readable only by this user, sends the browser to the token address.
        assert opened["mode"] == 0o600
        assert f"http://127.0.0.1:{server.port}/?token={server.token}" in opened["content"]
        assert 'http-equiv="refresh"' in opened["content"]
    finally:
        stop(server)
    assert not Path(opened["path"]).exists()  # removed when the server stopped


#: Run as another local user: try to read local mode's files and to fetch the page.
AS_OTHER_USER = """
import http.client, json, os, sys
home, port = sys.argv[1], int(sys.argv[2])
found = {}
try:
    found["folder"] = os.listdir(home)
except OSError as error:
    found["folder"] = type(error).__name__
for name in ("openorch.key", "openorch.db", "openorch.db-wal", "openorch.db-shm"):
    try:
        with open(os.path.join(home, name), "rb") as handle:
            found[name] = handle.read().decode("latin-1")
    except OSError as error:
        found[name] = type(error).__name__
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
connection.request("GET", "/", headers={"Accept": "text/html"})
response = connection.getresponse()
found["http"] = [response.status, response.read().decode(errors="replace")]
print(json.dumps(found))
"""


@pytest.mark.slow
@pytest.mark.skipif(
    not hasattr(os, "geteuid")
    or os.geteuid() != 0
    or not Path("/usr/sbin/runuser").exists()
    or not Path("/usr/bin/python3").exists(),
    reason="acting as another local user needs root and runuser",
)
def test_another_local_user_gets_neither_the_key_nor_the_data(tmp_path: Path) -> None:
    import json
    import shutil
    import tempfile

    from openorch.store import Store

    # A folder others may enter, as a home folder often is: only the modes openorch sets
    # stand between the other user and the files.
    shared = Path(tempfile.mkdtemp(prefix="openorch-shared-"))
    shared.chmod(0o755)
    server = start_server(shared, env=admin_env(shared / "home"))
    try:
        cookie = sign_in(server)
        assert request(server.port, "/", headers={"Cookie": cookie}).status == 200
        key = local_key(server)
        store = Store.open(f"sqlite:///{server.home / 'openorch.db'}", key, create=True)
        try:
            store.create_credential("mail", "robot", "credential-pw-for-nobody")
            with store.engine.connect():  # -wal and -shm exist meanwhile
                probe = subprocess.run(
                    [
                        "/usr/sbin/runuser",
                        "-u",
                        "nobody",
                        "--",
                        "/usr/bin/python3",
                        "-c",
                        AS_OTHER_USER,
                        str(server.home),
                        str(server.port),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=60,
                    cwd="/",
                )
        finally:
            store.close()
        assert probe.returncode == 0, probe.stderr
        seen = json.loads(probe.stdout)
        assert seen["folder"] == "PermissionError", seen
        for name in ("openorch.key", "openorch.db", "openorch.db-wal", "openorch.db-shm"):
            assert seen[name] == "PermissionError", (name, seen[name][:100])
        status, body = seen["http"]
        assert status == 401 and key not in body and "client_id" not in body
    finally:
        stop(server)
        shutil.rmtree(shared, ignore_errors=True)


@pytest.mark.slow
def test_the_page_limits_wrong_tokens_and_keeps_signed_in_browsers(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        port = server.port
        signed_in = request(port, "/?" + urlencode({"token": server.token}))
        cookie = signed_in.headers["Set-Cookie"].split(";", 1)[0]
        started = time.monotonic()
        with ThreadPoolExecutor(PER_ADDRESS) as pool:  # guesses in parallel, as an attacker
            guesses = list(
                pool.map(
                    lambda n: request(port, f"/?token=guess-{n}", headers={"Accept": "*/*"}),
                    range(PER_ADDRESS),
                )
            )
        assert [reply.status for reply in guesses] == [401] * PER_ADDRESS
        assert time.monotonic() - started < 10  # each waits its second, in parallel
        for path, method, body in (
            ("/?" + urlencode({"token": server.token}), "GET", None),  # even the right one
            ("/?token=another-guess", "GET", None),
            ("/login", "POST", urlencode({"token": server.token}).encode()),
        ):
            headers = {
                "Accept": "text/html",
                "Origin": f"http://127.0.0.1:{port}",
                "Content-Type": "application/x-www-form-urlencoded",
            }
            reply = request(port, path, method=method, headers=headers, body=body)
            assert reply.status == 429, (path, reply.status)
            assert 0 < int(reply.headers["Retry-After"]) <= WINDOW_SECONDS
            assert "Too many failed sign-ins" in reply.body and "Set-Cookie" not in reply.headers
        # A browser signed in before goes on (its page is built once it shows its secret).
        shell = request(port, "/", headers={"Cookie": cookie, "Accept": "text/html"})
        assert shell.status == 200 and "session_pending" in shell.body
    finally:
        stop(server)
    output = server.text()
    assert len(
        re.findall(r"Failed sign-in with a wrong token in the address from 127\.0\.0\.1", output)
    ) == (PER_ADDRESS)
    assert "refused (429)" in output and "guess-" not in output

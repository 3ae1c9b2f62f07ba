"""Start the Orchestrator server: `openorch o` calls `run(args)`.

This file is also the NiceGUI "main file" for the test suite's `User` fixture, which
executes it as `__main__` (see the guard at the bottom); there the connection comes from
the environment, as it does for an admin who sets `OpenOrchestratorConnString`.
"""

import argparse
import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Any

from nicegui import Client, app, background_tasks, ui

from openorch.config import ENV_CONN, ENV_KEY, ConnectionSettings, data_dir, resolve
from openorch.crypto import Cipher
from openorch.host_rule import HostRule
from openorch.listening import listen_problem
from openorch.orchestrator import who
from openorch.orchestrator.access import (
    SECRET_KEY,
    WILDCARD_HOSTS,
    AccessError,
    AccessSettings,
    client_address,
    current_guard,
    install,
    make_settings,
    new_limiter,
    session_id_of,
)
from openorch.orchestrator.common import tid
from openorch.orchestrator.frame import PAGE_SCRIPT, OrchestratorPage
from openorch.private_files import private_dir, write_private
from openorch.sign_in_config import SignInConfig, SignInConfigError, load_sign_in
from openorch.sign_in_limiter import SignInLimiter
from openorch.store import ConnectError, Store, describe_connection_error, mask


class StartError(Exception):
    """The Orchestrator cannot start as configured; the message says why (nothing was
    printed or started before it)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free right now on `host`."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def page_defaults(
    conn: str | None, key: str | None
) -> tuple[ConnectionSettings | None, str | None]:
    """What Settings is pre-filled with, and an error to show when that failed.

    Resolved at every page load, so a new browser tab sees a changed environment and a
    local-mode database deleted meanwhile is recreated.
    """
    import os

    try:
        return resolve(conn, key), None
    except ValueError as error:  # a connection string without a key, or the reverse
        partial = ConnectionSettings(
            conn or os.environ.get(ENV_CONN, ""),
            key or os.environ.get(ENV_KEY, ""),
            key_source="the --key option" if key else f"the environment variable {ENV_KEY}",
        )
        return partial, str(error)
    except Exception as error:  # local mode could not create its folder or database
        return None, "Local mode is not available: " + describe_connection_error(error)


def build_root(conn: str | None, key: str | None) -> "RootPage":
    """The page function NiceGUI calls for every new browser tab."""
    return RootPage(conn, key)


#: Seconds each attempt to read the page's session secret may take.
SECRET_READ_TIMEOUTS = (3.0, 5.0, 10.0)
#: JavaScript that answers the page's session secret (kept by the sign-in page).
READ_SECRET_JS = f"localStorage.getItem({json.dumps(SECRET_KEY)})"
#: JavaScript that leaves a page whose session ended or was refused (without asking
#: "leave the page?"): to the login page, forgetting the secret.
LEAVE_JS = (
    "window.openorchLeaving = true; "
    f"localStorage.removeItem({json.dumps(SECRET_KEY)}); location.replace('/login');"
)


class RootPage:
    """Callable root page remembering the command line's --conn/--key.

    The browser gets an empty shell first (the cookie lets it that far and no further);
    the Orchestrator is built only once the page's websocket has presented its session
    secret, read from this origin's localStorage (see `sessions.py`).
    """

    def __init__(self, conn: str | None, key: str | None) -> None:
        self.conn = conn
        self.key = key

    async def __call__(self) -> None:
        client = ui.context.client
        ui.page_title("Orchestrator")
        ui.add_body_html(PAGE_SCRIPT)  # scripts run only from the first HTML, not later
        pending = tid(ui.label("Opening the Orchestrator…"), "session_pending")
        guard = current_guard()
        session_id = session_id_of(client.request.headers.get("cookie", ""), guard.settings)
        try:
            await client.connected(timeout=60)
        except Exception:  # never connected: nothing was shown, nothing to do
            return
        secret = await read_secret(client)
        if client.is_deleted:
            return
        if session_id is None or not guard.sessions.verify(session_id, secret):
            what = "no session secret" if secret is None else "a wrong session secret"
            guard.limiter.failed(
                client_address(client.request.scope), f"{what} (a cookie replayed elsewhere?)"
            )
            leave(client)
            return
        identity = guard.sessions.identity_of(session_id)
        if identity is None:  # ended between the check and now
            leave(client)
            return
        pending.delete()
        who.bind(client, identity)
        defaults, error = page_defaults(self.conn, self.key)
        OrchestratorPage(defaults, error, identity)
        guard.sessions.add_page(session_id, client, lambda: leave(client))
        client.on_delete(lambda: guard.sessions.remove_page(session_id, client))


async def read_secret(client: Client) -> Any:
    """The session secret the page's localStorage holds (None: none, or no answer)."""
    for timeout in SECRET_READ_TIMEOUTS:
        try:
            return await client.run_javascript(READ_SECRET_JS, timeout=timeout)
        except TimeoutError:
            if client.is_deleted:
                return None
    return None


def leave(client: Client) -> None:
    """Send a page to the login page and drop it here: its session ended, or it could
    not show one."""
    if client.is_deleted:
        return
    client.run_javascript(LEAVE_JS)

    async def drop() -> None:
        await asyncio.sleep(2)  # let the message reach the browser first
        if not client.is_deleted:
            client.delete()

    background_tasks.create(drop(), name="drop a signed-out page")


def key_problem(conn: str | None, key: str | None) -> str | None:
    """What is wrong with the key from --key or the environment, as the Scheduler says
    it when it refuses to start; None when it is a usable Fernet key, or when the
    connection is incomplete (Settings says that) or local mode's."""
    try:
        settings = resolve(conn, key, allow_local=False)
    except ValueError:
        return None
    if settings is None:
        return None
    try:
        Cipher(settings.crypto_key)
    except ValueError as error:
        return f"{error} (The key comes from {settings.key_source}.)"
    return None


def startup_lines(conn: str | None, key: str | None) -> list[str]:
    """What `openorch o` says first: where its connection comes from. In local mode the
    database is created (or upgraded) here, at start, not when a browser first loads
    the page. Never prints the key or a password."""
    try:
        settings = resolve(conn, key)
    except ValueError as error:
        return [f"Connection: {error} Fill in the Settings tab."]
    except Exception as error:  # local mode could not create its folder
        return ["Local mode is not available: " + describe_connection_error(error)]
    if settings is None:
        return []
    if not settings.local:
        source = "the command line" if conn or key else "the environment"
        return [f"Database from {source}: {mask(settings.conn_string)}"]
    folder = settings.database_path.parent if settings.database_path else None
    try:
        Store.open(settings.conn_string, settings.crypto_key, create=True).close()
    except Exception as error:
        return ["Local mode is not available: " + describe_connection_error(error)]
    return [
        "Local mode: nothing is configured (no --conn/--key, no "
        f"{ENV_CONN}/{ENV_KEY}), so the Orchestrator uses",
        f"  database: {settings.database_path}",
        f"  key file: {folder / 'openorch.key' if folder else '?'}",
        "  Run `openorch s --headless` in another terminal to run its triggers.",
    ]


def sign_in_lines(sign_in: SignInConfig) -> list[str]:
    """What `openorch o` says about the ways to sign in (never a secret)."""
    ways = []
    if sign_in.oidc is not None:
        ways.append(f"OpenID Connect ({sign_in.oidc.name}, {sign_in.oidc.issuer})")
    if sign_in.ldap is not None:
        ways.append(f"LDAP ({sign_in.ldap.url})")
    if not ways:
        return []
    return [f"Sign-in: {', '.join(ways)} and the token, from {sign_in.path}"]


def mount_api(conn: str | None, hosts: HostRule, limiter: SignInLimiter) -> None:
    """Serve the HTTP API inside this server at /api (`openorch o --api`).

    The API gets its own data layer, without the encryption key, on the database the
    command line, the environment or local mode names (browser tabs may connect
    elsewhere; the API does not follow them).
    """
    from nicegui import app

    from openorch.api import create_app
    from openorch.api.main import open_api_store

    store = open_api_store(conn)
    app.mount("/api", create_app(store, mounted=True, hosts=hosts, limiter=limiter))
    app.on_shutdown(store.close)


def start(
    conn: str | None = None,
    key: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    show: bool = True,
    api: bool = False,
    token_file: str | None = None,
    allowed_hosts: tuple[str, ...] = (),
    log_format: str = "text",
    sign_in_file: str | None = None,
) -> None:
    """Run the server until it is stopped (Ctrl-C).

    Raises:
        StartError: the port is taken or the configured key is not a key (nothing is
            printed or started).
        AccessError: `host` reaches other machines and the admin set no token, or the
            admin's token is unusable (nothing is started).
        ConnectError: `api` and the API's database cannot be opened.
    """
    if port:
        problem = listen_problem(host, port)
        if problem:
            raise StartError(problem)
    problem = key_problem(conn, key)
    if problem:
        raise StartError(problem)
    try:
        sign_in = load_sign_in(sign_in_file)
    except SignInConfigError as error:
        raise StartError(str(error)) from error
    port = port or free_port(host if host not in WILDCARD_HOSTS else "127.0.0.1")
    settings = make_settings(
        port,
        host,
        token_file=token_file,
        allowed_hosts=allowed_hosts,
        own_auth_prefixes=("/api",) if api else (),
    )
    for line in [*startup_lines(conn, key), *sign_in_lines(sign_in)]:
        print(line, flush=True)
    limiter = new_limiter()
    if api:
        mount_api(conn, settings.host_rule, limiter)
    install(app, settings, limiter, sign_in)
    app.on_startup(lambda: announce_when_listening(settings, show=show))
    app.on_shutdown(forget_redirect_file)
    ui.run(
        build_root(conn, key),
        host=host,
        port=port,
        title="Orchestrator",
        favicon="🤖",
        show=False,  # opened by `announce`, with the token, once the server is up
        show_welcome_message=False,  # `announce` prints the address with the token
        reload=False,
        **_logging_options(log_format),
    )


def _logging_options(log_format: str) -> dict[str, Any]:
    """uvicorn's logging for `--log-format json` (JSON lines), else NiceGUI's default."""
    if log_format != "json":
        return {}
    from openorch.json_logs import uvicorn_log_config

    return {"log_config": uvicorn_log_config("orchestrator")}


def announce_when_listening(settings: AccessSettings, *, show: bool) -> None:
    """Announce once the socket accepts connections. Start-up handlers run before
    uvicorn binds its socket, so an address printed from one could be refused for a
    moment on a busy machine (a script that waits for the line, then connects, failed
    that way)."""
    from nicegui.server import Server

    async def wait_then_announce() -> None:
        server = getattr(Server, "instance", None)
        while server is not None and not server.started and not server.should_exit:
            await asyncio.sleep(0.02)
        if server is None or server.started:
            announce(settings, show=show)

    background_tasks.create(wait_then_announce(), name="announce")


def announce(settings: AccessSettings, *, show: bool) -> None:
    """Print where the Orchestrator is and, unless `-d`, open it in the browser."""
    print(f"Orchestrator running on {settings.address}", flush=True)
    if settings.admin_set:
        print(
            "Log in with the token you set (OPENORCH_ORCHESTRATOR_TOKEN or --token-file).",
            flush=True,
        )
    else:
        print(
            "Open this address (it holds the token; keep it to yourself):\n"
            f"    {settings.login_url}",
            flush=True,
        )
    if show:
        open_browser(settings)


_REDIRECT_FILES: list[Path] = []


def open_browser(settings: AccessSettings) -> None:
    """Open the signed-in address in the browser without putting the token on a command
    line other users can read: the browser opens a redirect file only this user can
    read (what Jupyter does)."""
    import threading
    import webbrowser

    page = redirect_page(settings.login_url)
    try:
        folder = private_dir(data_dir() / "orchestrator")
        path = write_private(folder / f"open-{settings.port}.html", page)
        _REDIRECT_FILES.append(path)
        target = path.as_uri()
    except OSError:
        target = settings.address  # the login page asks for the token instead
    threading.Thread(target=webbrowser.open, args=(target,), daemon=True).start()


def redirect_page(url: str) -> str:
    """A page that sends the browser to `url` at once."""
    import html

    escaped = html.escape(url, quote=True)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={escaped}">'
        f'<title>Orchestrator</title></head><body><a href="{escaped}">Open the Orchestrator</a>'
        "</body></html>\n"
    )


def forget_redirect_file() -> None:
    """Delete the redirect files when the server stops."""
    while _REDIRECT_FILES:
        _REDIRECT_FILES.pop().unlink(missing_ok=True)


def run(args: argparse.Namespace) -> int:
    """Entry point of `openorch o [-p PORT] [-d] [--host HOST] [--conn] [--key] [--api]
    [--token-file FILE] [--allow-host NAME]`."""
    try:
        start(
            getattr(args, "conn", None),
            getattr(args, "key", None),
            host=getattr(args, "host", None) or "127.0.0.1",
            port=getattr(args, "port", None),
            show=not getattr(args, "dont_show", False),
            api=bool(getattr(args, "api", False)),
            token_file=getattr(args, "token_file", None),
            allowed_hosts=tuple(getattr(args, "allow_host", None) or ()),
            log_format=getattr(args, "log_format", None) or "text",
            sign_in_file=getattr(args, "sign_in_file", None),
        )
    except StartError as error:
        print(f"openorch o: cannot start: {error}", file=sys.stderr, flush=True)
        return 2
    except AccessError as error:
        print(f"openorch o: {error}", file=sys.stderr, flush=True)
        return 2
    except ConnectError as error:  # only --api opens the database at start
        print(f"Cannot serve the API: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ in {"__main__", "__mp_main__"}:
    start(show=False)

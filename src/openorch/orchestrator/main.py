"""Start the Orchestrator server: `openorch o` calls `run(args)`.

This file is also the NiceGUI "main file" for the test suite's `User` fixture, which
executes it as `__main__` (see the guard at the bottom); there the connection comes from
the environment, as it does for an admin who sets `OpenOrchestratorConnString`.
"""

import argparse
import socket
import sys

from nicegui import ui

from openorch.config import ENV_CONN, ENV_KEY, ConnectionSettings, resolve
from openorch.orchestrator.frame import OrchestratorPage
from openorch.store import ConnectError, describe_connection_error


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
            conn or os.environ.get(ENV_CONN, ""), key or os.environ.get(ENV_KEY, "")
        )
        return partial, str(error)
    except Exception as error:  # local mode could not create its folder or database
        return None, "Local mode is not available: " + describe_connection_error(error)


def build_root(conn: str | None, key: str | None) -> "RootPage":
    """The page function NiceGUI calls for every new browser tab."""
    return RootPage(conn, key)


class RootPage:
    """Callable root page remembering the command line's --conn/--key."""

    def __init__(self, conn: str | None, key: str | None) -> None:
        self.conn = conn
        self.key = key

    def __call__(self) -> None:
        defaults, error = page_defaults(self.conn, self.key)
        OrchestratorPage(defaults, error)


def mount_api(conn: str | None) -> None:
    """Serve the HTTP API inside this server at /api (`openorch o --api`).

    The API gets its own data layer, without the encryption key, on the database the
    command line, the environment or local mode names (browser tabs may connect
    elsewhere; the API does not follow them).
    """
    from nicegui import app

    from openorch.api import create_app
    from openorch.api.main import open_api_store

    store = open_api_store(conn)
    app.mount("/api", create_app(store, mounted=True))
    app.on_shutdown(store.close)


def start(conn: str | None = None, key: str | None = None, *, host: str = "127.0.0.1",
          port: int | None = None, show: bool = True, api: bool = False) -> None:
    """Run the server until it is stopped (Ctrl-C)."""
    if api:
        mount_api(conn)
    ui.run(
        build_root(conn, key),
        host=host,
        port=port or free_port(host if host not in ("0.0.0.0", "::") else "127.0.0.1"),
        title="Orchestrator",
        favicon="🤖",
        show=show,
        reload=False,
    )


def run(args: argparse.Namespace) -> int:
    """Entry point of `openorch o [-p PORT] [-d] [--host HOST] [--conn] [--key] [--api]`."""
    try:
        start(
            getattr(args, "conn", None),
            getattr(args, "key", None),
            host=getattr(args, "host", None) or "127.0.0.1",
            port=getattr(args, "port", None),
            show=not getattr(args, "dont_show", False),
            api=bool(getattr(args, "api", False)),
        )
    except ConnectError as error:  # only --api opens the database at start
        print(f"Cannot serve the API: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ in {"__main__", "__mp_main__"}:
    start(show=False)

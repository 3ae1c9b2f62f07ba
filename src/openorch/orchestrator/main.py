"""Start the Orchestrator server: `openorch o` calls `run(args)`.

This file is also the NiceGUI "main file" for the test suite's `User` fixture, which
executes it as `__main__` (see the guard at the bottom); there the connection comes from
the environment, as it does for an admin who sets `OpenOrchestratorConnString`.
"""

import argparse
import socket

from nicegui import ui

from openorch.config import ENV_CONN, ENV_KEY, ConnectionSettings, resolve
from openorch.orchestrator.frame import OrchestratorPage
from openorch.store import Store, describe_connection_error, mask


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


def startup_lines(conn: str | None, key: str | None, url: str) -> list[str]:
    """What `openorch o` says before serving: where the connection comes from and the
    address to open. Resolving here creates local mode's database and key at start, not
    when a browser first loads the page. Never prints the key itself."""
    try:
        settings = resolve(conn, key)
    except ValueError as error:
        lines = [f"Connection: {error} Fill in the Settings tab."]
    except Exception as error:  # local mode could not create its folder or database
        lines = ["Local mode is not available: " + describe_connection_error(error)]
    else:
        if settings is not None and settings.local:
            folder = settings.database_path.parent if settings.database_path else None
            try:  # created (or upgraded) now, not when a browser first loads the page
                Store.open(settings.conn_string, settings.crypto_key, create=True).close()
            except Exception as error:
                return [
                    "Local mode is not available: " + describe_connection_error(error),
                    f"Open the Orchestrator at {url}",
                ]
            lines = [
                "Local mode: nothing is configured (no --conn/--key, no "
                f"{ENV_CONN}/{ENV_KEY}), so the Orchestrator uses",
                f"  database: {settings.database_path}",
                f"  key file: {folder / 'openorch.key' if folder else '?'}",
                "  Run `openorch s --headless` in another terminal to run its triggers.",
            ]
        elif settings is not None:
            source = "the command line" if conn or key else "the environment"
            lines = [f"Database from {source}: {mask(settings.conn_string)}"]
        else:
            lines = []
    return [*lines, f"Open the Orchestrator at {url}"]


def start(conn: str | None = None, key: str | None = None, *, host: str = "127.0.0.1",
          port: int | None = None, show: bool = True) -> None:
    """Run the server until it is stopped (Ctrl-C)."""
    port = port or free_port(host if host not in ("0.0.0.0", "::") else "127.0.0.1")
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    for line in startup_lines(conn, key, f"http://{shown_host}:{port}/"):
        print(line, flush=True)
    ui.run(
        build_root(conn, key),
        host=host,
        port=port,
        title="Orchestrator",
        favicon="🤖",
        show=show,
        reload=False,
    )


def run(args: argparse.Namespace) -> int:
    """Entry point of `openorch o [-p PORT] [-d] [--host HOST] [--conn] [--key]`."""
    start(
        getattr(args, "conn", None),
        getattr(args, "key", None),
        host=getattr(args, "host", None) or "127.0.0.1",
        port=getattr(args, "port", None),
        show=not getattr(args, "dont_show", False),
    )
    return 0


if __name__ in {"__main__", "__mp_main__"}:
    start(show=False)

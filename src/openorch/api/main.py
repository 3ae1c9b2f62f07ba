"""`openorch api`: serve the HTTP API with uvicorn until stopped.

Listens on 127.0.0.1 unless `--host` says otherwise; put a TLS-terminating reverse proxy
in front before opening it to a network (docs/api.md). The encryption key is never
loaded: credentials cannot be read through the API, not even by a bug.
"""

import argparse
import logging
import os
import sys
from typing import Any

from openorch.config import ENV_CONN, local_settings
from openorch.host_rule import HostRule
from openorch.listening import listen_problem
from openorch.store import ConnectError, Store, mask

#: The port `openorch api` listens on unless told otherwise.
DEFAULT_PORT = 8321


def connection_string(conn: str | None) -> tuple[str, bool]:
    """--conn, then the environment, then local mode's database (the key is not needed).

    Returns the string and whether it is local mode's.
    """
    conn = conn or os.environ.get(ENV_CONN) or None
    if conn:
        return conn, False
    return local_settings().conn_string, True


def open_api_store(conn: str | None) -> Store:
    """The API's data layer: no key; local mode's database created when missing.

    Raises:
        ConnectError: unreachable, no tables, bad connection string (the message says).
    """
    string, local = connection_string(conn)
    return Store.open(string, None, create=local)


def run(args: argparse.Namespace) -> int:
    """Entry point of `openorch api [--host] [--port] [--conn] [--allow-host NAME]`."""
    import uvicorn

    from openorch.api.app import create_app
    from openorch.api.routes.metrics import parse_allowed
    from openorch.scheduler.config import DEFAULT_HEARTBEAT_TIMEOUT

    host = getattr(args, "host", None) or "127.0.0.1"
    port = getattr(args, "port", None) or DEFAULT_PORT
    problem = listen_problem(host, port)
    if problem:
        print(f"Cannot start the API: {problem}", file=sys.stderr)
        return 1
    try:
        store = open_api_store(getattr(args, "conn", None))
    except ConnectError as error:
        print(f"Cannot start the API: {error}", file=sys.stderr)
        return 1
    for warning in store.open_warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    timeout = getattr(args, "heartbeat_timeout", None) or DEFAULT_HEARTBEAT_TIMEOUT
    hosts = HostRule.for_listening(host, tuple(getattr(args, "allow_host", None) or ()))
    app = create_app(store, heartbeat_timeout=timeout, hosts=hosts)
    try:
        app.state.metrics_allow = parse_allowed(getattr(args, "metrics_allow", None) or [])
    except ValueError as error:
        store.close()
        print(f"Cannot start the API: {error}", file=sys.stderr)
        return 2
    logging.getLogger("openorch.api").setLevel(logging.INFO)
    print(
        f"openorch API on http://{host}:{port}/api/v1 (docs: /api/docs), database "
        f"{mask(store.engine.url)}.",
        flush=True,
    )
    logging_options: dict[str, Any] = {}
    if getattr(args, "log_format", "text") == "json":
        from openorch.json_logs import uvicorn_log_config

        logging_options["log_config"] = uvicorn_log_config("api")
    try:
        uvicorn.run(
            app,
            **logging_options,
            host=host,
            port=port,
            log_level="info",
            server_header=False,
            proxy_headers=True,
            forwarded_allow_ips=getattr(args, "forwarded_allow_ips", None) or "127.0.0.1",
            timeout_keep_alive=5,
        )
    finally:
        store.close()
    return 0

"""`openorch api`: serve the HTTP API with uvicorn until stopped.

Listens on 127.0.0.1 unless `--host` says otherwise; put a TLS-terminating reverse proxy
in front before opening it to a network (docs/api.md). The encryption key is never
loaded: credentials cannot be read through the API, not even by a bug.
"""

import argparse
import logging
import os
import sys

from openorch.config import ENV_CONN, local_settings
from openorch.store import Store, describe_connection_error, mask

#: The port `openorch api` listens on unless told otherwise.
DEFAULT_PORT = 8321


def connection_string(conn: str | None) -> str:
    """--conn, then the environment, then local mode's database (the key is not needed)."""
    conn = conn or os.environ.get(ENV_CONN) or None
    return conn or local_settings().conn_string


def run(args: argparse.Namespace) -> int:
    """Entry point of `openorch api [--host] [--port] [--conn]`."""
    import uvicorn

    from openorch.api.app import create_app
    from openorch.scheduler.config import DEFAULT_HEARTBEAT_TIMEOUT

    conn = connection_string(getattr(args, "conn", None))
    store = Store(conn)  # no key: credentials stay unreadable here
    try:
        revision = store.current_revision()
    except Exception as error:
        print(f"Cannot reach the database: {describe_connection_error(error, conn)}",
              file=sys.stderr)
        store.close()
        return 1
    if revision is None:
        print(f"The database {mask(conn)} has no openorch tables yet: run "
              "`openorch upgrade CONN --new` first.", file=sys.stderr)
        store.close()
        return 1
    timeout = getattr(args, "heartbeat_timeout", None) or DEFAULT_HEARTBEAT_TIMEOUT
    app = create_app(store, heartbeat_timeout=timeout)
    host = getattr(args, "host", None) or "127.0.0.1"
    port = getattr(args, "port", None) or DEFAULT_PORT
    logging.getLogger("openorch.api").setLevel(logging.INFO)
    print(f"openorch API on http://{host}:{port}/api/v1 (docs: /api/docs), database "
          f"{mask(conn)}.", flush=True)
    try:
        uvicorn.run(
            app,
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

"""A small fake "safe storage" service for the backup pipeline example.

    python examples/backup_service.py --port 8765 --transfer-seconds 3

It stands in for the outside system a real process would talk to (an object store, a
tape robot, a partner's SFTP drop with a receipt): a transfer is accepted at once and
finishes a few seconds later, so the pipeline's transfer step must start it, wait, and
come back to check. HTTP + JSON, in memory, standard library only:

- POST /transfers       {"key", "file", "sha256"} -> {"id", "status"}; the same key
                         returns the same transfer (an idempotency key: a step that is
                         run again after a crash does not start a second transfer)
- GET  /transfers/<id>  -> {"id", "status": "pending" | "done", "location"}
- POST /notifications   {"key", "text"} -> {"id"}; the same key is recorded once
- GET  /stats           -> how many transfers and notifications, per key

With --port 0 it picks a free port; --url-file writes the URL it listens on to a file
(what the tests use).
"""

import argparse
import contextlib
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Storage:
    """The service's memory: transfers and notifications by idempotency key."""

    def __init__(self, transfer_seconds: float) -> None:
        self.transfer_seconds = transfer_seconds
        self.lock = threading.Lock()
        self.transfers: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.transfer_calls: dict[str, int] = {}
        self.notifications: dict[str, dict[str, Any]] = {}
        self.notification_calls: dict[str, int] = {}

    def start_transfer(self, body: dict[str, Any]) -> dict[str, Any]:
        key = str(body["key"])
        with self.lock:
            self.transfer_calls[key] = self.transfer_calls.get(key, 0) + 1
            if key not in self.by_key:
                transfer_id = uuid.uuid4().hex
                self.by_key[key] = transfer_id
                self.transfers[transfer_id] = {
                    "id": transfer_id,
                    "file": body.get("file"),
                    "sha256": body.get("sha256"),
                    "ready_at": time.monotonic() + self.transfer_seconds,
                }
            return self.view(self.by_key[key])

    def view(self, transfer_id: str) -> dict[str, Any]:
        transfer = self.transfers[transfer_id]
        done = time.monotonic() >= transfer["ready_at"]
        return {
            "id": transfer_id,
            "status": "done" if done else "pending",
            "location": f"vault://backups/{transfer_id}" if done else None,
        }

    def notify(self, body: dict[str, Any]) -> dict[str, Any]:
        key = str(body["key"])
        with self.lock:
            self.notification_calls[key] = self.notification_calls.get(key, 0) + 1
            note = self.notifications.setdefault(
                key, {"id": uuid.uuid4().hex, "text": body.get("text")}
            )
            return {"id": note["id"]}

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "transfers": len(self.transfers),
                "notifications": len(self.notifications),
                "transfer_calls": dict(self.transfer_calls),
                "notification_calls": dict(self.notification_calls),
            }


def handler_for(storage: Storage) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `storage`."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            loaded = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(loaded, dict) or "key" not in loaded:
                raise ValueError("a JSON object with a key is required")
            return loaded

        def do_POST(self) -> None:
            try:
                if self.path == "/transfers":
                    self._send(201, storage.start_transfer(self._body()))
                elif self.path == "/notifications":
                    self._send(201, storage.notify(self._body()))
                else:
                    self._send(404, {"error": "not found"})
            except (ValueError, KeyError) as error:
                self._send(400, {"error": str(error)})

        def do_GET(self) -> None:
            if self.path == "/stats":
                self._send(200, storage.stats())
            elif self.path.startswith("/transfers/"):
                transfer_id = self.path.rsplit("/", 1)[-1]
                if transfer_id in storage.transfers:
                    self._send(200, storage.view(transfer_id))
                else:
                    self._send(404, {"error": f"no transfer {transfer_id}"})
            else:
                self._send(404, {"error": "not found"})

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the example's output stays readable."""

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--transfer-seconds",
        type=float,
        default=3.0,
        help="how long a transfer takes before it is done",
    )
    parser.add_argument("--url-file", type=Path, help="write the URL listened on here")
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(
        ("127.0.0.1", args.port), handler_for(Storage(args.transfer_seconds))
    )
    url = f"http://127.0.0.1:{server.server_address[1]}"
    if args.url_file is not None:
        args.url_file.write_text(url)
    print(
        f"Fake storage service on {url} (transfers take {args.transfer_seconds:g} s).", flush=True
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())

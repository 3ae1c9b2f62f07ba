"""Real receivers for alert tests: an SMTP server (aiosmtpd) and an HTTP webhook
receiver (http.server), each in a thread on a free 127.0.0.1 port."""

import email
import email.policy
import http.server
import json
import socket
import ssl
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

#: The SMTP login the `smtp` fixture accepts; tests check this password never leaks.
SMTP_LOGIN = ("robot@example.com", "pa55-Very-Secret-Smtp")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """An SMTP server that keeps every message; with `login` it offers AUTH, accepts only
    that username and password, and records every login it saw."""

    def __init__(
        self,
        login: tuple[str, str] | None = None,
        port: int | None = None,
        *,
        tls: str | None = None,
        context: ssl.SSLContext | None = None,
    ) -> None:
        """`tls`: None (plain), 'starttls' (required before AUTH and mail) or 'tls'
        (implicit TLS from the first byte), with the server `context`."""
        self.port = port or free_port()
        self._tls = tls
        self._context = context
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[tuple[str, str]] = []
        self._login = login
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        pair = (data.login.decode(), data.password.decode())
        self.logins.append(pair)
        return AuthResult(success=pair == self._login, handled=False)

    def start(self) -> "SmtpSink":
        """Listen (again, on the same port)."""
        options: dict[str, Any] = {}
        if self._login is not None:
            options = {
                "authenticator": self._authenticate,
                "auth_require_tls": self._tls == "starttls",
            }
        if self._tls == "starttls":
            options.update(tls_context=self._context, require_starttls=True)
        elif self._tls == "tls":
            options.update(ssl_context=self._context)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are refused until `start()`)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        """Wait until `count` messages arrived; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)} of {count} emails came"
            time.sleep(0.1)
        return list(self.messages)


class WebhookSink:
    """An HTTP server that records every POSTed JSON body and answers 200 (or
    `status` when set)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.status = 200
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                if sink.status == 200:
                    sink.bodies.append(body)
                    sink.paths.append(self.path)
                self.send_response(sink.status)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook/SECRET-TOKEN") -> str:
        """This receiver's address with a secret-looking path."""
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until `count` bodies arrived; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count:
            assert time.monotonic() < deadline, f"{len(self.bodies)} of {count} webhook calls"
            time.sleep(0.1)
        return list(self.bodies)

    def close(self) -> None:
        """Stop the server."""
        self._server.shutdown()
        self._server.server_close()

"""Turning failures into answers: 4xx with a message for bad input, 503 for an
unreachable database, and a bare 500 (details only in the server's output) for bugs.

Also the request size limit, enforced before a body is read into memory, and the Host
check (the Orchestrator page's rule, `openorch.host_rule`).
"""

import contextlib
import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openorch.host_rule import HostRule
from openorch.store import describe_connection_error
from openorch.store.errors import AlreadyDecided, NotFound

log = logging.getLogger("openorch.api")

#: Largest request body accepted (bytes): a full bulk add fits with room to spare.
MAX_BODY_BYTES = 4 * 1024 * 1024


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(ValueError)
    async def bad_value(_request: Request, error: ValueError) -> JSONResponse:
        code = status.HTTP_404_NOT_FOUND if isinstance(error, NotFound) else 422
        if isinstance(error, AlreadyDecided):
            code = status.HTTP_409_CONFLICT  # another decider won
        return JSONResponse({"detail": str(error)}, status_code=code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        # The input itself is not echoed back: it is the caller's, and may be large.
        parts = []
        for item in error.errors()[:10]:
            where = ".".join(str(part) for part in item.get("loc", ()))
            parts.append(f"{where}: {item.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(parts) or "Invalid request."}, status_code=422)

    @app.exception_handler(exc.OperationalError)
    @app.exception_handler(exc.InterfaceError)
    async def database_down(_request: Request, error: Exception) -> JSONResponse:
        reason = describe_connection_error(error)
        log.warning("Database error: %s", reason)
        return JSONResponse(
            {"detail": f"The database is not reachable; try again later. {reason}"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    @app.exception_handler(Exception)
    async def bug(_request: Request, error: Exception) -> JSONResponse:
        log.error("Unexpected %s while serving a request", type(error).__name__, exc_info=error)
        return JSONResponse(
            {"detail": "Internal error; the API server's output says more."},
            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )


class BodyLimit:
    """ASGI middleware: 413 for a body over `limit` bytes, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.limit:
                    await self._refuse(send)
                    return
        received = 0
        exceeded = False
        answered = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # Once the body is too large, whatever the app answers (FastAPI turns the
            # aborted read into a 400) is replaced by the 413.
            nonlocal answered
            if exceeded:
                if not answered:
                    answered = True
                    await self._refuse(send)
                return
            answered = True
            await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, counted_receive, guarded_send)
        if exceeded and not answered:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = (
            b'{"detail":"The request body is too large: the limit is '
            + str(self.limit).encode()
            + b' bytes."}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class HostCheck:
    """ASGI middleware: 400 for a Host header that names no name of this server.

    A DNS-rebinding page (`evil.example` re-pointed at 127.0.0.1) would otherwise read
    the API's answers from the admin's own browser; the rule is the page's own.
    """

    def __init__(self, app: ASGIApp, rule: HostRule) -> None:
        self.app = app
        self.rule = rule

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = ""
        for name, value in scope.get("headers", ()):
            if name == b"host":
                host = value.decode("latin-1")
                break
        if self.rule.allows(host):
            await self.app(scope, receive, send)
            return
        body = (
            b'{"detail":"This server does not answer to that Host name (start it with '
            b'--allow-host NAME to add one)."}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

"""Who may use the Orchestrator: a secret token, the Host header and the Origin.

Listening on 127.0.0.1 keeps the network out, not the machine's other users (any of
them can open a loopback port) nor a hostile website in the admin's own browser (DNS
rebinding: evil.example resolving to 127.0.0.1; or framing the page). So every request
and websocket connection must show the token, the way Jupyter does it:

- the token is random (made at start) unless the admin sets one
  (`OPENORCH_ORCHESTRATOR_TOKEN` or `openorch o --token-file FILE`);
- `openorch o` opens the browser on `/?token=...` through a redirect file only this
  user can read, and prints that address; the first visit trades the token for a
  session (`sessions.py`): a cookie (HttpOnly: no script reads it; SameSite=Strict: no
  other site sends it) and a secret the sign-in page's script keeps in the origin's
  localStorage, then goes on to the same page without the token in the address bar;
- the cookie only opens the page's empty shell and its websocket: the page is built
  once the websocket has presented the secret (`main.RootPage`), so a cookie another
  server on this host collected opens nothing;
- without the cookie a browser gets a login page asking for the token — never the app
  (its scripts, its websocket, its data); anything else gets 401, a websocket 403;
- failed sign-ins are limited per address and in total (`openorch.sign_in_limiter`);
- the Host header must name this server (an IP address, localhost, the `--host`
  name or an `--allow-host` name): a rebinding domain is refused even with the token;
- a request with an Origin (every websocket, every cross-site fetch) must come from the
  page's own origin;
- every response forbids framing (X-Frame-Options, CSP frame-ancestors) and carries a
  Content-Security-Policy NiceGUI works under.

`AccessGate` is a plain ASGI middleware, so it sees websocket handshakes as well as
HTTP requests (the socket.io endpoint is mounted inside the same app).
"""

import asyncio
import hmac
import html
import json
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from openorch.host_rule import LOOPBACK_HOSTS, WILDCARD_HOSTS, HostRule, is_loopback
from openorch.identity import TOKEN_ADMIN, Identity
from openorch.orchestrator.oidc_sign_in import OidcRefused, OidcSignIn
from openorch.orchestrator.sessions import SessionStore
from openorch.sign_in_config import SignInConfig
from openorch.sign_in_limiter import SignInLimiter

log = logging.getLogger("openorch.orchestrator.access")

#: Environment variable with the admin's token (read at start).
ENV_TOKEN = "OPENORCH_ORCHESTRATOR_TOKEN"
#: Shortest token an admin may set: it is all that guards a server others can reach.
MIN_TOKEN_LENGTH = 16
#: The localStorage key of the session secret (per origin, so per port).
SECRET_KEY = "openorch.session"
#: Where a browser starts, and comes back from, an OpenID Connect sign-in.
OIDC_START = "/login/oidc"
OIDC_CALLBACK = "/login/oidc/callback"
#: Seconds a wrong token waits before the answer (guessing stays slow).
WRONG_TOKEN_DELAY = 1.0

#: Content-Security-Policy of the app's pages. NiceGUI renders inline scripts and Vue
#: compiles templates at run time ('unsafe-inline', 'unsafe-eval'); everything else is
#: this server's own, and no other site may frame the page.
APP_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; media-src 'self' data: blob:; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
#: The login page needs nothing but its own inline style and its form.
LOGIN_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
#: Headers every response carries.
COMMON_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AccessError(ValueError):
    """The server must not start with these settings; the message says why."""


@dataclass(frozen=True)
class AccessSettings:
    """The token and the names this server answers to.

    `admin_set` is False for a token made at start (only printed to a terminal), which
    is never enough for a server other machines can reach.
    """

    token: str
    admin_set: bool
    port: int
    host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()
    hostnames: frozenset[str] = field(default_factory=frozenset)
    #: Path prefixes served by an app with its own authentication (the HTTP API's bearer
    #: tokens, `openorch o --api`): passed through without the page's checks.
    own_auth_prefixes: tuple[str, ...] = ()

    def has_own_auth(self, path: str) -> bool:
        """True for a path under one of `own_auth_prefixes`."""
        return any(
            path == prefix or path.startswith(prefix + "/") for prefix in self.own_auth_prefixes
        )

    @property
    def cookie_name(self) -> str:
        """Per port: cookies do not tell ports apart, two servers must not share one."""
        return f"openorch-orchestrator-{self.port}"

    @property
    def browser_host(self) -> str:
        """The address a local browser uses to reach the server."""
        if self.host in WILDCARD_HOSTS or self.host in LOOPBACK_HOSTS:
            return "127.0.0.1"
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def address(self) -> str:
        """The server's address without the token."""
        return f"http://{self.browser_host}:{self.port}/"

    @property
    def login_url(self) -> str:
        """The address with the token: opening it signs the browser in."""
        return f"{self.address}?{urlencode({'token': self.token})}"

    def token_matches(self, candidate: str | None) -> bool:
        """Constant-time comparison with the token."""
        return candidate is not None and hmac.compare_digest(
            candidate.encode("utf-8", "replace"), self.token.encode("utf-8")
        )

    @property
    def host_rule(self) -> HostRule:
        """The Host rule of this server (the HTTP API mounted here uses it too)."""
        return HostRule(self.host, self.allowed_hosts, self.hostnames)

    def host_allowed(self, host_header: str) -> bool:
        """True when the Host header names this server, not a domain an attacker owns
        (`openorch.host_rule`)."""
        return self.host_rule.allows(host_header)

    def origin_allowed(self, origin: str, host_header: str) -> bool:
        """True when `origin` is the page's own: the same host and port as the request
        (or an `--allow-host` name, when a proxy rewrites the Host header)."""
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        netloc = parts.netloc.lower()
        if netloc == host_header.lower():
            return True
        default = {"http": ":80", "https": ":443"}[parts.scheme]
        for allowed in self.allowed_hosts:
            allowed = allowed.lower()
            if netloc in (allowed, allowed + default) or netloc + default == allowed:
                return True
        return False


def read_admin_token(token_file: str | Path | None = None) -> str | None:
    """The admin's token: from `token_file`, else the environment, else None.

    Raises:
        AccessError: the file cannot be read, or the token is too short.
    """
    token: str | None
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise AccessError(f"Cannot read the token file {token_file}: {error}") from error
        where = f"the token file {token_file}"
    else:
        token = (os.environ.get(ENV_TOKEN) or "").strip() or None
        where = f"the environment variable {ENV_TOKEN}"
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise AccessError(
            f"The token in {where} is shorter than {MIN_TOKEN_LENGTH} characters; make "
            'a long random one, e.g. with: python -c "import secrets; '
            'print(secrets.token_urlsafe(32))"'
        )
    return token


def make_settings(
    port: int,
    host: str = "127.0.0.1",
    *,
    token_file: str | Path | None = None,
    allowed_hosts: tuple[str, ...] = (),
    own_auth_prefixes: tuple[str, ...] = (),
) -> AccessSettings:
    """The access settings a server starts with.

    Raises:
        AccessError: `host` reaches beyond this machine and the admin set no token (a
            token made at start would guard a network server with a secret only printed
            to a terminal), or the admin's token is unusable.
    """
    admin_token = read_admin_token(token_file)
    if not is_loopback(host) and admin_token is None:
        raise AccessError(
            f"Refusing to listen on {host}: that opens the Orchestrator, an admin app that "
            "reads and changes everything in the database, to other machines. Set a long "
            f"random token first ({ENV_TOKEN}=... or --token-file FILE) and preferably put "
            "a TLS reverse proxy in front (see docs/security.md)."
        )
    rule = HostRule.for_listening(host, tuple(allowed_hosts))
    return AccessSettings(
        token=admin_token or secrets.token_urlsafe(32),
        admin_set=admin_token is not None,
        port=port,
        host=host,
        allowed_hosts=rule.allowed_hosts,
        hostnames=rule.hostnames,
        own_auth_prefixes=tuple(own_auth_prefixes),
    )


# --- the ASGI middleware -------------------------------------------------------------


@dataclass(frozen=True)
class Guard:
    """What the running server checks with: its settings, its browser sessions and its
    limiter of failed sign-ins (shared with the HTTP API mounted in it)."""

    settings: AccessSettings
    sessions: SessionStore
    limiter: SignInLimiter
    #: Ways to sign in besides the token (`openorch.sign_in_config`).
    sign_in: SignInConfig = field(default_factory=SignInConfig)
    oidc: OidcSignIn | None = None


#: The guard of the server running in this process (read by the page, which checks the
#: session secret, and by the test fixtures, which sign in through `login_url`).
_CURRENT: Guard | None = None


def current_guard() -> Guard:
    """The guard the running server was started with.

    Raises:
        RuntimeError: no server was started in this process.
    """
    if _CURRENT is None:
        raise RuntimeError("No Orchestrator server was started in this process.")
    return _CURRENT


def current() -> AccessSettings:
    """The settings the running server was started with.

    Raises:
        RuntimeError: no server was started in this process.
    """
    return current_guard().settings


def new_limiter() -> SignInLimiter:
    """The limiter of failed sign-ins for one server (page and API share it)."""
    return SignInLimiter(log)


def install(
    app: Any,
    settings: AccessSettings,
    limiter: SignInLimiter | None = None,
    sign_in: SignInConfig | None = None,
) -> Guard:
    """Put the gate in front of `app` (a FastAPI/Starlette app, before it starts)."""
    global _CURRENT
    sign_in = sign_in or SignInConfig()
    guard = Guard(
        settings,
        SessionStore(),
        limiter or new_limiter(),
        sign_in,
        OidcSignIn(sign_in.oidc) if sign_in.oidc else None,
    )
    app.add_middleware(AccessGate, guard=guard)
    _CURRENT = guard
    return guard


def client_address(scope: Scope) -> str:
    """The client's address as the server sees it (a trusted proxy's X-Forwarded-For
    already applied by uvicorn)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def session_id_of(cookie_header: str, settings: AccessSettings) -> str | None:
    """The session id in a request's `Cookie` header, if any."""
    return _cookies({"cookie": cookie_header}).get(settings.cookie_name)


class AccessGate:
    """ASGI middleware: Host, Origin, session and token checks, sign-in limits, security
    headers, the login page."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard
        self.settings = guard.settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan
            return
        if kind == "http" and self.settings.has_own_auth(scope.get("path", "")):
            # The HTTP API checks its own bearer tokens and Host header (with the same
            # rule); it keeps its own page policy (its docs page loads Swagger UI), but
            # may not be framed either.
            await self.app(scope, receive, _with_headers(send, None))
            return
        headers = _headers(scope)
        host = headers.get("host", "")
        if not self.settings.host_allowed(host):
            await self._refuse(
                scope, receive, send, 400, "This server does not answer to that Host name."
            )
            return
        origin = headers.get("origin")
        if origin is not None and not self.settings.origin_allowed(origin, host):
            await self._refuse(scope, receive, send, 403, "Cross-origin request refused.")
            return
        path = scope.get("path", "")
        if kind == "http" and path == "/login":
            await self._login(scope, receive, send)
            return
        if kind == "http" and path in (OIDC_START, OIDC_CALLBACK):
            await self._oidc(scope, send, headers)
            return
        session_id = _cookies(headers).get(self.settings.cookie_name)
        if self.guard.sessions.touch(session_id):
            if kind == "websocket":
                receive = self._touching(receive, session_id)
            await self.app(scope, receive, _with_headers(send, APP_CSP))
            return
        token = _query(scope).get("token")
        if kind == "http" and scope.get("method") in ("GET", "HEAD") and token is not None:
            if await self._limited(scope, send, headers):
                return
            if self.settings.token_matches(token):
                await self._sign_in(scope, send, _without_token(scope))
                return
            self.guard.limiter.failed(client_address(scope), "a wrong token in the address")
            await asyncio.sleep(WRONG_TOKEN_DELAY)
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if "text/html" in headers.get("accept", "") and scope.get("method") == "GET":
            await _send_html(send, 401, self._login_page(wrong=token is not None))
            return
        await _send_text(
            send,
            401,
            "The Orchestrator needs its token: open the address "
            "`openorch o` printed, or log in at /login.",
        )

    def _touching(self, receive: Receive, session_id: str | None) -> Receive:
        """`receive` that marks the session used at every websocket message, so an open
        page keeps its session alive (its socket makes no HTTP requests)."""
        sessions = self.guard.sessions

        async def wrapped() -> Message:
            message = await receive()
            if message.get("type") == "websocket.receive":
                sessions.touch(session_id)
            return message

        return wrapped

    async def _limited(self, scope: Scope, send: Send, headers: dict[str, str]) -> bool:
        """Answer 429 (and return True) when this address may not try to sign in now."""
        wait = self.guard.limiter.retry_after(client_address(scope))
        if wait is None:
            return False
        text = f"Too many failed sign-ins: try again in {wait} seconds."
        extra = ((b"retry-after", str(wait).encode()),)
        if "text/html" in headers.get("accept", ""):
            await _send_html(send, 429, self._login_page(problem=text), extra)
        else:
            await _send_text(send, 429, text, extra)
        return True

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "POST":
            await _send_html(send, 200, self._login_page())
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > 4096:
                await _send_text(send, 413, "Too large.")
                return
            if not message.get("more_body"):
                break
        if await self._limited(scope, send, {"accept": "text/html"}):
            return
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        if "username" in form and self.guard.sign_in.ldap is not None:
            await self._ldap(scope, send, form)
            return
        token = form.get("token", [""])[0].strip()
        if self.settings.token_matches(token):
            await self._sign_in(scope, send, "/")
            return
        self.guard.limiter.failed(client_address(scope), "a wrong token in the login form")
        await asyncio.sleep(WRONG_TOKEN_DELAY)
        await _send_html(send, 401, self._login_page(wrong=True))

    def _login_page(self, *, wrong: bool = False, problem: str = "") -> str:
        return login_page(wrong=wrong, problem=problem, ways=self.guard.sign_in)

    async def _ldap(self, scope: Scope, send: Send, form: dict[str, list[str]]) -> None:
        """A user name and password from the form, checked by the directory (in a
        worker thread: ldap3 blocks). A wrong password counts as a failed sign-in."""
        from openorch.ldap_sign_in import DirectoryUnavailable, SignInRefused, ldap_sign_in

        settings = self.guard.sign_in.ldap
        assert settings is not None
        username = form.get("username", [""])[0]
        password = form.get("password", [""])[0]
        try:
            identity = await asyncio.to_thread(ldap_sign_in, settings, username, password)
        except SignInRefused as error:
            self.guard.limiter.failed(client_address(scope), "a wrong directory password")
            await asyncio.sleep(WRONG_TOKEN_DELAY)
            await _send_html(send, 401, self._login_page(problem=str(error)))
            return
        except DirectoryUnavailable as error:
            log.warning("Directory sign-in unavailable: %s", error)
            await _send_html(send, 503, self._login_page(problem=str(error)))
            return
        log.info("%s signed in as %s.", identity.label, identity.role)
        await self._sign_in(scope, send, "/", identity)

    async def _oidc(self, scope: Scope, send: Send, headers: dict[str, str]) -> None:
        """/login/oidc sends the browser to the provider; /login/oidc/callback finishes
        the sign-in the provider sent it back from."""
        oidc = self.guard.oidc
        if oidc is None or scope.get("method") != "GET":
            await _send_text(send, 404, "Not found.")
            return
        state_cookie = f"{self.settings.cookie_name}-oidc"
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        try:
            if scope.get("path") == OIDC_START:
                redirect_uri = oidc.settings.redirect_url or (
                    f"{scope.get('scheme', 'http')}://{headers.get('host', '')}{OIDC_CALLBACK}"
                )
                url, state = await oidc.start(redirect_uri)
                # SameSite=Lax: the provider's redirect back is a cross-site navigation,
                # which a Strict cookie would not come with.
                cookie = (
                    f"{state_cookie}={state}; Path={OIDC_START}; HttpOnly; SameSite=Lax; "
                    f"Max-Age=600{secure}"
                )
                await _send_redirect(send, url, cookie)
                return
            identity = await oidc.finish(_query(scope), _cookies(headers).get(state_cookie))
        except OidcRefused as error:
            log.warning("OpenID Connect sign-in refused: %s", error)
            await _send_html(send, 401, self._login_page(problem=str(error)))
            return
        except Exception as error:  # a provider answering nonsense: say so, never a 500
            log.warning("OpenID Connect sign-in failed", exc_info=error)
            problem = (
                f"Sign-in with {oidc.settings.name} failed ({type(error).__name__}); the "
                "Orchestrator's token still works."
            )
            await _send_html(send, 502, self._login_page(problem=problem))
            return
        log.info("%s signed in as %s.", identity.label, identity.role)
        forget = f"{state_cookie}=; Path={OIDC_START}; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
        await self._sign_in(scope, send, "/", identity, forget)

    async def _sign_in(
        self,
        scope: Scope,
        send: Send,
        location: str,
        identity: Identity = TOKEN_ADMIN,
        extra_cookie: str = "",
    ) -> None:
        """Start a new session of `identity` (the token: the token admin): the cookie
        in a header, the secret in a page whose script keeps it in this origin's
        localStorage and goes on to `location` (without the token)."""
        session_id, secret = self.guard.sessions.create(identity)
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        cookie = (
            f"{self.settings.cookie_name}={session_id}; Path=/; HttpOnly; SameSite=Strict{secure}"
        )
        nonce = secrets.token_urlsafe(16)
        body = signed_in_page(secret, location, nonce).encode()
        csp = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"set-cookie", cookie.encode("latin-1")),
                    *([(b"set-cookie", extra_cookie.encode("latin-1"))] if extra_cookie else []),
                    (b"cache-control", b"no-store"),
                    (b"content-security-policy", csp.encode("latin-1")),
                    *COMMON_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, text: str
    ) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await _send_text(send, status, text)


def _script_json(value: str) -> str:
    """`value` as a JavaScript string literal safe inside a <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def signed_in_page(secret: str, location: str, nonce: str) -> str:
    """The answer to a right token: keep the session secret in this origin's
    localStorage (no other port can read it; no cookie carries it), then go on."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Orchestrator: signing in</title></head>
<body style="font-family: system-ui, sans-serif; margin: 4rem auto; max-width: 32rem">
<p id="signing-in">Signing in…</p>
<p id="no-storage" hidden>This browser does not let the page keep its sign-in
(localStorage is off): allow site data for this address and open it again.</p>
<noscript><p>The Orchestrator needs JavaScript.</p></noscript>
<script nonce="{nonce}">
try {{
  localStorage.setItem({_script_json(SECRET_KEY)}, {_script_json(secret)});
  location.replace({_script_json(location)});
}} catch (error) {{
  document.getElementById("signing-in").hidden = true;
  document.getElementById("no-storage").hidden = false;
}}
</script>
</body></html>
"""


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers, lower-case names; the first of repeated ones."""
    found: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found


def _cookies(headers: dict[str, str]) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            cookies.setdefault(name, value)
    return cookies


def _query(scope: Scope) -> dict[str, str]:
    query = scope.get("query_string", b"").decode("latin-1")
    return {name: values[0] for name, values in parse_qs(query).items()}


def _without_token(scope: Scope) -> str:
    """The request's path and query, minus the token (where the sign-in redirects)."""
    query = scope.get("query_string", b"").decode("latin-1")
    kept = [
        (name, value)
        for name, values in parse_qs(query, keep_blank_values=True).items()
        if name != "token"
        for value in values
    ]
    path = scope.get("path", "/") or "/"
    if not path.startswith("/") or path.startswith("//"):
        path = "/"  # never an open redirect
    return path + (f"?{urlencode(kept)}" if kept else "")


def _with_headers(send: Send, csp: str | None) -> Send:
    """`send` that adds the security headers (and `csp`, unless None) to an HTTP
    response."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            replaced = {b"x-frame-options", *([b"content-security-policy"] if csp else [])}
            headers = [
                (name, value)
                for name, value in message.get("headers", [])
                if name.lower() not in replaced
            ]
            headers.extend(COMMON_HEADERS)
            if csp is not None:
                headers.append((b"content-security-policy", csp.encode("latin-1")))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


Headers = tuple[tuple[bytes, bytes], ...]


async def _send_text(send: Send, status: int, text: str, extra: Headers = ()) -> None:
    await _send(send, status, text.encode(), b"text/plain; charset=utf-8", LOGIN_CSP, extra)


async def _send_html(send: Send, status: int, page: str, extra: Headers = ()) -> None:
    await _send(send, status, page.encode(), b"text/html; charset=utf-8", LOGIN_CSP, extra)


async def _send_redirect(send: Send, location: str, cookie: str) -> None:
    """A 302 to `location` (the identity provider), setting `cookie`."""
    await send(
        {
            "type": "http.response.start",
            "status": 302,
            "headers": [
                (b"location", location.encode("latin-1")),
                (b"content-length", b"0"),
                (b"set-cookie", cookie.encode("latin-1")),
                (b"cache-control", b"no-store"),
                *COMMON_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _send(
    send: Send, status: int, body: bytes, content_type: bytes, csp: str, extra: Headers = ()
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"content-security-policy", csp.encode("latin-1")),
                *COMMON_HEADERS,
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def login_page(*, wrong: bool = False, problem: str = "", ways: SignInConfig | None = None) -> str:
    """The page a browser without a session gets: the ways to sign in (a provider's
    button, the directory's user name and password, the token), nothing else."""
    if wrong:
        problem = "That token is not right."
    problem = f'<p class="wrong" id="problem">{html.escape(problem)}</p>' if problem else ""
    ways = ways or SignInConfig()
    others = ""
    if ways.oidc is not None:
        others += (
            f'<p><a class="button" id="oidc" href="{OIDC_START}">Sign in with '
            f"{html.escape(ways.oidc.name)}</a></p>\n"
        )
    if ways.ldap is not None:
        others += f"""<form method="post" action="/login" id="ldap-form">
<h2>Sign in with your {html.escape(ways.ldap.name)} account</h2>
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit" id="ldap-submit">Sign in</button>
</form>
"""
    if others:
        others += "<h2>Or with the Orchestrator's token</h2>\n"
    focus = "" if others else " autofocus"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Orchestrator: log in</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto;
       padding: 0 1rem; color: #222; }}
input {{ width: 100%; padding: .5rem; font-size: 1rem; box-sizing: border-box; }}
button {{ margin-top: .75rem; padding: .5rem 1.5rem; font-size: 1rem; }}
a.button {{ display: inline-block; padding: .5rem 1.5rem; background: #1f5f9e; color: #fff;
           text-decoration: none; border-radius: 4px; }}
h2 {{ font-size: 1.1rem; margin-top: 2rem; }}
.wrong {{ color: #b00020; }}
code {{ background: #eee; padding: 0 .2rem; }}
</style></head>
<body>
<h1>Orchestrator</h1>
{problem}
{others}<p>This Orchestrator needs its token. Open the address <code>openorch o</code> printed
(it holds the token), or paste the token here.</p>
<form method="post" action="/login">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password"{focus}>
<button type="submit">Log in</button>
</form>
<p><small>The token is the one set in {html.escape(ENV_TOKEN)} or --token-file, or
the one printed at start.</small></p>
</body></html>
"""

"""Browser sessions of the Orchestrator's page: a cookie plus a secret only the page's
own origin can read.

Cookies are scoped by host, not by port: a browser sends the Orchestrator's cookie to
every server on 127.0.0.1, so another local user's server on another port collects it
(and `SameSite=Strict` does not help: another port is the same site). So the cookie is
only the first step. A sign-in (the token) makes a session of two random values:

- the **session id**, in the cookie: it lets a browser load the page's empty shell, its
  scripts and its websocket — and nothing else;
- the **secret**, handed to the sign-in page's own script, which keeps it in the
  browser's `localStorage`. Web storage is per *origin*, and the origin includes the
  port, so no page on another port can read it, and it never travels in a cookie. The
  page builds its content only after its websocket has presented the secret.

Both are random per sign-in (not derived from the token); only their hashes are kept,
in this process's memory (a restart signs every browser out). A session ends after
`IDLE_SECONDS` without a request or a websocket message from it (an open page keeps it
alive), or when the admin signs every browser out (Settings); its open pages are closed.
"""

import contextlib
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from openorch.identity import TOKEN_ADMIN, Identity

#: A session unused this long is forgotten (a working day; an open page keeps it alive).
IDLE_SECONDS = 8 * 3600.0
#: Most sessions kept at once; beyond that the least recently used one ends.
MAX_SESSIONS = 1000


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


@dataclass
class Session:
    """One sign-in: the hash of its secret, when it was last used, who signed in, its
    open pages."""

    secret_hash: str
    last_used: float
    #: Who signed in (the start-up token: the token admin) and so what they may do.
    identity: Identity = TOKEN_ADMIN
    #: Called to close each open page of this session when it ends (keyed by page).
    closers: dict[object, Callable[[], None]] = field(default_factory=dict)


class SessionStore:
    """The live sessions, by the hash of their id. Thread-safe."""

    def __init__(
        self, idle_seconds: float = IDLE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def create(self, identity: Identity = TOKEN_ADMIN) -> tuple[str, str]:
        """A new session of `identity`: (id for the cookie, secret for the page's
        storage)."""
        session_id = secrets.token_urlsafe(32)
        secret = secrets.token_urlsafe(32)
        closers: list[Callable[[], None]] = []
        with self._lock:
            self._sessions[_digest(session_id)] = Session(_digest(secret), self.clock(), identity)
            while len(self._sessions) > MAX_SESSIONS:
                oldest = min(self._sessions, key=lambda key: self._sessions[key].last_used)
                closers.extend(self._sessions.pop(oldest).closers.values())
        _close(closers)
        return session_id, secret

    def touch(self, session_id: str | None) -> bool:
        """True when `session_id` names a live session (and mark it used now)."""
        if not session_id:
            return False
        closers: list[Callable[[], None]] = []
        with self._lock:
            key = _digest(session_id)
            session = self._sessions.get(key)
            if session is None:
                return False
            now = self.clock()
            if now - session.last_used > self.idle_seconds:
                closers.extend(self._sessions.pop(key).closers.values())
                alive = False
            else:
                session.last_used = now
                alive = True
        _close(closers)
        return alive

    def verify(self, session_id: str | None, secret: object) -> bool:
        """True when `secret` is the live session's own (constant-time comparison)."""
        if not isinstance(secret, str) or not secret or not self.touch(session_id):
            return False
        with self._lock:
            session = self._sessions.get(_digest(session_id or ""))
            expected = session.secret_hash if session else ""
        return bool(expected) and hmac.compare_digest(_digest(secret), expected)

    def identity_of(self, session_id: str | None) -> Identity | None:
        """Who signed in to the live session `session_id` (None: no such session)."""
        with self._lock:
            session = self._sessions.get(_digest(session_id or ""))
            return session.identity if session is not None else None

    def add_page(self, session_id: str, page: object, close: Callable[[], None]) -> None:
        """Remember an open page of the session, to close it when the session ends."""
        with self._lock:
            session = self._sessions.get(_digest(session_id))
            if session is not None:
                session.closers[page] = close
                return
        close()  # ended meanwhile

    def remove_page(self, session_id: str, page: object) -> None:
        """Forget a page that closed."""
        with self._lock:
            session = self._sessions.get(_digest(session_id))
            if session is not None:
                session.closers.pop(page, None)

    def end_all(self) -> int:
        """Sign every browser out: end every session and close its pages. Returns how
        many sessions there were."""
        with self._lock:
            ended = list(self._sessions.values())
            self._sessions.clear()
        _close([close for session in ended for close in session.closers.values()])
        return len(ended)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)


def _close(closers: list[Callable[[], None]]) -> None:
    for close in closers:
        with contextlib.suppress(Exception):  # a page already gone; the others still close
            close()

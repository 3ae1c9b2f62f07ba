"""Limits on failed sign-ins, for the Orchestrator's page and the HTTP API alike.

A wrong token already waits a second before its answer, but that delay is per request:
a hundred guesses in parallel take hardly longer than one. Random tokens (256 bits)
cannot be guessed anyway; an admin-set token may be as short as 16 characters. So the
failures are counted over a sliding window, per client address and in total, and once
either count is full every further sign-in attempt — right or wrong — is answered with
`429 Too Many Requests` and a `Retry-After` until the window frees up. The total limit
matters because the address is weak evidence: every local user is 127.0.0.1, and behind
a proxy the address comes from a header.

Only attempts to sign in are limited: a browser already signed in, and an API request
with a valid token from an address that is not locked, go on working. Failures are
logged (never the guessed value: it may be a typo of the real token).
"""

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable

#: Failures one client address may have within `WINDOW_SECONDS`.
PER_ADDRESS = 10
#: Failures all addresses together may have within `WINDOW_SECONDS`.
IN_TOTAL = 100
#: The sliding window the failures are counted over.
WINDOW_SECONDS = 300.0


class SignInLimiter:
    """Counts failed sign-ins; says how long an address must wait. Thread-safe (the API
    checks tokens in worker threads)."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        per_address: int = PER_ADDRESS,
        in_total: int = IN_TOTAL,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = logger
        self.per_address = per_address
        self.in_total = in_total
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        self._by_address: dict[str, deque[float]] = {}
        self._total: deque[float] = deque()

    def retry_after(self, address: str) -> int | None:
        """Whole seconds `address` must wait before trying again; None when it may try."""
        with self._lock:
            now = self.clock()
            self._forget_old(now)
            waits = []
            mine = self._by_address.get(address)
            if mine is not None and len(mine) >= self.per_address:
                waits.append(mine[-self.per_address] + self.window - now)
            if len(self._total) >= self.in_total:
                waits.append(self._total[-self.in_total] + self.window - now)
            if not waits:
                return None
            return max(1, math.ceil(max(waits)))

    def failed(self, address: str, what: str) -> None:
        """Record (and log) a failed sign-in from `address`; `what` says with what."""
        with self._lock:
            now = self.clock()
            self._forget_old(now)
            mine = self._by_address.setdefault(address, deque())
            mine.append(now)
            self._total.append(now)
            mine_count, total_count = len(mine), len(self._total)
        minutes = f"{self.window / 60:g} minutes" if self.window % 60 == 0 else f"{self.window:g} s"
        self.log.warning(
            "Failed sign-in with %s from %s (%d from there and %d in all in the last %s).",
            what,
            address,
            mine_count,
            total_count,
            minutes,
        )
        if mine_count == self.per_address or total_count == self.in_total:
            who = address if mine_count == self.per_address else "every address"
            self.log.warning(
                "Too many failed sign-ins: sign-ins from %s are refused (429) for up to %s.",
                who,
                minutes,
            )

    def _forget_old(self, now: float) -> None:
        cutoff = now - self.window
        while self._total and self._total[0] <= cutoff:
            self._total.popleft()
        for address in list(self._by_address):
            times = self._by_address[address]
            while times and times[0] <= cutoff:
                times.popleft()
            if not times:
                del self._by_address[address]

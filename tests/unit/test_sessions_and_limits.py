"""The page's browser sessions and the failed sign-in limiter on their own, with a
clock the test moves: random per sign-in, idle expiry, "sign out every browser", the
sliding windows and their Retry-After."""

import logging

import pytest

from openorch.orchestrator.sessions import SessionStore
from openorch.sign_in_limiter import SignInLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_are_random_per_sign_in_and_need_their_own_secret() -> None:
    store = SessionStore()
    first_id, first_secret = store.create()
    second_id, second_secret = store.create()
    assert len({first_id, first_secret, second_id, second_secret}) == 4
    assert len(first_id) >= 43 and len(first_secret) >= 43  # 256 bits each
    assert store.verify(first_id, first_secret) and store.verify(second_id, second_secret)
    # The cookie alone, another session's secret, or anything else opens nothing.
    for wrong in (None, "", second_secret, first_id, first_secret + "x", 42, ["x"]):
        assert not store.verify(first_id, wrong), wrong
    assert not store.verify("forged", first_secret) and not store.verify(None, first_secret)
    assert store.touch(first_id) and not store.touch("forged") and not store.touch(None)


def test_an_idle_session_ends_and_closes_its_pages_while_use_keeps_it() -> None:
    clock = Clock()
    store = SessionStore(idle_seconds=60, clock=clock)
    session_id, secret = store.create()
    closed: list[str] = []
    store.add_page(session_id, "page", lambda: closed.append("page"))
    for _ in range(5):  # used every 50 s: alive for 250 s
        clock.now += 50
        assert store.touch(session_id)
    clock.now += 61
    assert not store.verify(session_id, secret)
    assert closed == ["page"] and len(store) == 0


def test_signing_every_browser_out_ends_every_session_and_closes_every_page() -> None:
    store = SessionStore()
    sessions = [store.create() for _ in range(3)]
    closed: list[int] = []
    for number, (session_id, _secret) in enumerate(sessions):
        store.add_page(session_id, number, lambda number=number: closed.append(number))
    store.remove_page(sessions[2][0], 2)  # a page that closed by itself
    assert store.end_all() == 3
    assert sorted(closed) == [0, 1]
    assert not any(store.verify(session_id, secret) for session_id, secret in sessions)
    late: list[str] = []
    store.add_page(sessions[0][0], "late", lambda: late.append("late"))
    assert late == ["late"]  # a page of an ended session is closed at once


def test_failures_per_address_lock_that_address_for_the_rest_of_the_window(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    limiter = SignInLimiter(
        logging.getLogger("test.limiter"), per_address=3, in_total=10, window=100, clock=clock
    )
    with caplog.at_level(logging.WARNING, "test.limiter"):
        for _ in range(3):
            assert limiter.retry_after("10.0.0.1") is None
            limiter.failed("10.0.0.1", "a wrong token")
            clock.now += 10
    assert limiter.retry_after("10.0.0.1") == 70  # the first failure leaves the window then
    assert limiter.retry_after("10.0.0.2") is None  # another address may still try
    clock.now += 69.5
    assert limiter.retry_after("10.0.0.1") == 1
    clock.now += 1
    assert limiter.retry_after("10.0.0.1") is None
    messages = [record.getMessage() for record in caplog.records]
    assert sum("Failed sign-in with a wrong token from 10.0.0.1" in m for m in messages) == 3
    assert any("refused (429)" in m for m in messages)


def test_failures_in_total_lock_every_address() -> None:
    clock = Clock()
    limiter = SignInLimiter(
        logging.getLogger("test.limiter"), per_address=3, in_total=5, window=100, clock=clock
    )
    for number in range(5):
        limiter.failed(f"10.0.0.{number}", "a wrong token")
        clock.now += 1
    assert limiter.retry_after("192.0.2.7") == 95  # never failed, locked all the same
    clock.now += 95
    assert limiter.retry_after("192.0.2.7") is None


async def test_an_open_pages_websocket_keeps_its_session_alive() -> None:
    """The gate marks the session used at every websocket message: a page left open
    makes no HTTP request, and its session must not end under it."""
    from openorch.orchestrator.access import AccessGate, AccessSettings, Guard

    clock = Clock()
    settings = AccessSettings(token="t" * 43, admin_set=False, port=8080)
    sessions = SessionStore(idle_seconds=60, clock=clock)
    guard = Guard(settings, sessions, SignInLimiter(logging.getLogger("test.limiter")))
    session_id, _secret = sessions.create()
    incoming = [{"type": "websocket.connect"}]
    incoming += [{"type": "websocket.receive", "text": "3"}] * 5  # engine.io pongs
    incoming.append({"type": "websocket.disconnect"})

    async def receive() -> dict[str, str]:
        return incoming.pop(0)

    async def send(_message: object) -> None:
        pass

    async def app(_scope: object, receive: object, _send: object) -> None:
        while (await receive())["type"] != "websocket.disconnect":  # type: ignore[operator]
            clock.now += 50  # 250 s in all, each message 50 s after the last

    scope = {
        "type": "websocket",
        "path": "/_nicegui_ws/socket.io/",
        "headers": [
            (b"host", b"127.0.0.1:8080"),
            (b"origin", b"http://127.0.0.1:8080"),
            (b"cookie", f"{settings.cookie_name}={session_id}".encode()),
        ],
    }
    await AccessGate(app, guard)(scope, receive, send)  # type: ignore[arg-type]
    assert sessions.touch(session_id)

"""A tab that goes away closes its store off the event loop (issue 22): closing the last
connection to a SQLite file checkpoints its WAL, which must not hold up other tabs."""

import threading

import pytest
from nicegui.testing.user import User

from openorch.store import Store
from support.ui import until


async def test_a_gone_tab_closes_its_store_in_another_thread(
    connected: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed_in: list[threading.Thread] = []
    real_close = Store.close

    def close(self: Store) -> None:
        closed_in.append(threading.current_thread())
        real_close(self)

    monkeypatch.setattr(Store, "close", close)
    client = connected.client
    assert client is not None
    client.delete()
    await until(lambda: closed_in)
    assert closed_in[0] is not threading.main_thread(), "closed on the event loop"

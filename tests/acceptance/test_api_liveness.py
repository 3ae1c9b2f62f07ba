"""The HTTP API judges Schedulers by the one liveness rule (issue 25): the database's
clock, each Scheduler's own declared heartbeat timeout, and a Scheduler that said it
stopped is not alive. The API process runs with its wall clock ten minutes ahead
(libfaketime), which must change nothing."""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from openorch.database import ApiScope, Scheduler
from openorch.store import Store
from support.api_server import ApiServer
from support.databases import missing

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


@pytest.fixture
def fleet(pg_db_url: str) -> Iterator[Store]:
    """Four Schedulers on PostgreSQL (whose server clock is the one that counts):

    - `fresh`: heartbeat now, 30 s timeout: alive;
    - `patient`: last heartbeat 200 s ago, declared timeout 600 s: alive (the API's old
      fixed 120 s called it dead);
    - `silent`: last heartbeat 10 min ago, 120 s timeout: not alive;
    - `stopped`: heartbeat now but it said it stopped: not alive.
    """
    store = Store(pg_db_url)
    for name, timeout, state in (
        ("fresh", 30.0, "running"),
        ("patient", 600.0, "running"),
        ("silent", 120.0, "running"),
        ("stopped", 120.0, "stopped"),
    ):
        store.register_run(name, uuid.uuid4(), timeout, state)
    with store.engine.begin() as connection:
        for name, seconds in (("patient", 200), ("silent", 600)):
            connection.execute(
                update(Scheduler)
                .where(Scheduler.machine_name == name)
                .values(last_update=Scheduler.last_update - timedelta(seconds=seconds))
            )
    yield store
    store.close()


def test_health_and_schedulers_use_the_one_rule_whatever_the_api_clock(
    fleet: Store, pg_db_url: str, tmp_path: Path
) -> None:
    if not LIBFAKETIME.exists():
        missing("libfaketime (Debian package faketime)")
    _token, secret = fleet.create_api_token("reader", [ApiScope.READ])
    judged = {
        health.scheduler.machine_name: health.alive for health in fleet.get_scheduler_health()
    }
    assert judged == {"fresh": True, "patient": True, "silent": False, "stopped": False}
    server = ApiServer(
        tmp_path,
        pg_db_url,
        env={
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME": "+10m",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        },
    )
    try:
        with server.client(secret) as client:
            listed = {item["name"]: item["alive"] for item in client.get("/schedulers").json()}
            health = client.get("/health").json()
        assert listed == judged  # the Orchestrator's Schedulers tab reads the same rule
        assert health["live_schedulers"] == 2
    finally:
        server.stop()

"""A pooled connection that sat idle across a PostgreSQL restart is found dead before
use and replaced, so the caller never sees the error."""

import subprocess
import sys
import threading
import time
import uuid

import pytest

from openorch.store import Store
from openorch.store import engine as engine_module
from support.databases import migrated
from support.pgcluster import PgCluster, create_database


@pytest.mark.postgres
def test_idle_connection_across_a_restart_is_replaced(
    own_pg: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = migrated(create_database(own_pg.server_url))
    store = Store(url)
    store.create_constant("before", "restart")
    own_pg.stop_server()
    own_pg.resume()
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)
    # The pooled connection died with the old server; the checkout ping replaces it.
    assert [c.name for c in store.get_constants()] == ["before"]
    store.create_constant("after", "restart")
    store.close()


@pytest.mark.postgres
def test_postgresql_connections_have_bounded_waits(pg_db_url: str) -> None:
    store = Store(pg_db_url)
    raw = store.engine.raw_connection()
    try:
        parameters = raw.driver_connection.info.get_parameters()
    finally:
        raw.close()
    assert parameters["connect_timeout"] == "10"
    assert parameters["keepalives_idle"] == "30"
    store.close()
    overridden = Store(f"{pg_db_url}?connect_timeout=3")
    raw = overridden.engine.raw_connection()
    try:
        assert raw.driver_connection.info.get_parameters()["connect_timeout"] == "3"
    finally:
        raw.close()
    overridden.close()


@pytest.mark.postgres
def test_a_process_started_by_a_scheduler_waits_out_a_short_outage(
    own_pg: PgCluster, crypto_key: str
) -> None:
    url = migrated(create_database(own_pg.server_url))
    job_id = str(uuid.uuid4())
    own_pg.stop_server()
    script = (
        "import sys; from openorch import OrchestratorConnection as C; "
        "C('robot', sys.argv[1], sys.argv[2], '', None, sys.argv[3]).log_info('after outage')"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, url, crypto_key, job_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Resume only once the process has said it waits (a fixed sleep was too short for a
    # loaded machine, e.g. under pytest-xdist: the server came back before the first try).
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    deadline = time.monotonic() + 30
    while not any("retrying for up to 60 s" in line for line in lines):
        assert process.poll() is None, "".join(lines)  # waiting for the database, not failed
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.1)
    own_pg.resume()
    process.wait(timeout=60)
    reader.join(timeout=10)
    err = "".join(lines)
    assert process.returncode == 0, err
    store = Store(url)
    (log,) = store.get_logs(job_id=job_id)
    assert log.log_message == "after outage"
    store.close()


def test_started_by_hand_an_unreachable_database_fails_at_once(crypto_key: str) -> None:
    from openorch import OrchestratorConnection

    started = time.monotonic()
    with pytest.raises(ConnectionError, match="unreachable"):
        OrchestratorConnection("p", "postgresql+psycopg://u@127.0.0.1:1/x", crypto_key, "")
    assert time.monotonic() - started < 5

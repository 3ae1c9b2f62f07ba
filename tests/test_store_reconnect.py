"""A pooled connection that sat idle across a PostgreSQL restart is found dead before
use and replaced, so the caller never sees the error."""

from collections.abc import Iterator

import pytest

from conftest import missing
from openorch import migrate
from openorch.store import Store, build_engine
from openorch.store import engine as engine_module
from support.pgcluster import PgCluster, create_database, find_pg_bin


@pytest.fixture
def private_cluster() -> Iterator[PgCluster]:
    pg_bin = find_pg_bin()
    if pg_bin is None:
        missing("PostgreSQL (initdb/pg_ctl)")
    cluster = PgCluster(pg_bin).start()  # type: ignore[arg-type]
    yield cluster
    cluster.stop()


@pytest.mark.postgres
def test_idle_connection_across_a_restart_is_replaced(
    private_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = create_database(private_cluster.server_url)
    engine = build_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    store = Store(url)
    store.create_constant("before", "restart")
    private_cluster.stop_server()
    private_cluster.resume()
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

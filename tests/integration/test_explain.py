"""Every read path the UI or SDK uses must be served by an index on PostgreSQL.

The statements are captured from the real data-layer calls (not rewritten by hand),
then EXPLAINed with their own parameters on tables holding a realistic volume. A
sequential scan of `Logs` or `Queues` fails the test.
"""

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from populate import populate_logs, populate_queue

from openorch.store import Store
from support.captured import captured_statements

ROWS = 200_000

# `big_store` is module-wide; each test still counts as one that ran on PostgreSQL.
pytestmark = pytest.mark.usefixtures("on_postgres")


@pytest.fixture(scope="module")
def big_store(pg_server: str) -> Iterator[Store]:
    from openorch import migrate
    from openorch.store import build_engine
    from support.pgcluster import create_database, drop_database

    url = create_database(pg_server, prefix="explain")
    engine = build_engine(url)
    migrate.upgrade(engine)
    populate_logs(engine, ROWS)
    populate_queue(engine, "big", ROWS)
    populate_queue(engine, "page", ROWS // 4, mixed=False)
    raw = engine.raw_connection()
    raw.driver_connection.autocommit = True
    raw.driver_connection.execute("VACUUM ANALYZE")
    # A VACUUM right after a bulk insert may leave the pages not yet marked all-visible
    # (seen: relallvisible 0 of 2,565 pages, then all after a second VACUUM). Counting
    # the whole table is an index-only scan only on all-visible pages, so vacuum until
    # they are: the plans checked are those of a table autovacuum has caught up with.
    for _attempt in range(5):
        behind = raw.driver_connection.execute(
            "SELECT count(*) FROM pg_class WHERE relname IN ('Logs', 'Queues') "
            "AND relallvisible < relpages"
        ).fetchone()[0]
        if not behind:
            break
        raw.driver_connection.execute('VACUUM "Logs", "Queues"')
    raw.close()
    engine.dispose()
    store = Store(url)
    yield store
    store.close()
    drop_database(url)


def _is_read(statement: str) -> bool:
    return statement.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE"))


def seq_scans(plan: dict[str, Any]) -> list[str]:
    found = []
    if plan.get("Node Type") == "Seq Scan":
        found.append(plan.get("Relation Name", "?"))
    for child in plan.get("Plans", []):
        found.extend(seq_scans(child))
    return found


READ_PATHS: dict[str, Callable[[Store], object]] = {
    "newest logs": lambda s: s.get_logs(0, 100),
    "newest logs with count": lambda s: s.get_logs(0, 100, include_count=True),
    "logs by process": lambda s: s.get_logs(0, 100, process_name="process_7"),
    "logs by level": lambda s: s.get_logs(0, 100, log_level="ERROR"),
    "logs by process and level": lambda s: s.get_logs(
        0, 100, process_name="process_7", log_level="ERROR"
    ),
    "logs of a job": lambda s: s.get_logs(0, 100, job_id="00000000-0000-0000-0000-000000000001"),
    "distinct process names": lambda s: s.get_unique_log_process_names(),
    # Not here: get_queue_count() counts every row of Queues by design; PostgreSQL rightly
    # prefers a parallel sequential scan for that (see docs/benchmarks.md).
    "queue page with count": lambda s: s.get_queue_elements("page", limit=100, include_count=True),
    "queue page newest first": lambda s: s.get_queue_elements("page", limit=100, order_desc=True),
    "queue page by status": lambda s: s.get_queue_elements("big", status="FAILED", limit=100),
    "peek next element": lambda s: s.get_next_queue_element("big", set_status=False),
    "pending queue triggers": lambda s: s.get_pending_queue_triggers(),
    # The alert watchdog's reads, every 30 s.
    "watchdog: queue names": lambda s: s.get_queue_names(),
    "watchdog: oldest NEW element per queue": lambda s: s.get_oldest_new_elements(["big", "page"]),
    "watchdog: queue failures in the last hour": lambda s: s.get_recent_queue_failures(
        datetime.now() - timedelta(hours=1)
    ),
    "watchdog: elements past their deadline": lambda s: s.get_queues_past_deadline(datetime.now()),
    "overview figures": lambda s: s.get_overview(),
}


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("name", list(READ_PATHS))
def test_read_path_uses_an_index(big_store: Store, name: str) -> None:
    big_store.create_queue_trigger(f"qt-{name}", "p", "big", "p.py", "", False, True, 5, 0)
    statements = captured_statements(big_store, lambda: READ_PATHS[name](big_store), _is_read)
    assert statements, "the call ran no query"
    raw = big_store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
            plan = cursor.fetchone()[0]
            plan = plan if isinstance(plan, list) else json.loads(plan)
            scanned = [t for t in seq_scans(plan[0]["Plan"]) if t in ("Logs", "Queues")]
            assert scanned == [], f"{name}: sequential scan of {scanned} in\n{statement}"
        raw.rollback()
    finally:
        raw.close()

"""Table rows and sizes for the Overview (issue 29), on SQLite and PostgreSQL: read from
the database's statistics (no COUNT(*) over a big table), cached, and a large table whose
kind of data is kept whole gets a suggested retention."""

import pytest
from sqlalchemy import text

from openorch.database import LogLevel
from openorch.store import Store
from openorch.store.ops import table_sizes
from openorch.store.ops.table_sizes import TableSize, suggest


def test_rows_and_sizes(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for number in range(120):
        store.create_log("p", LogLevel.INFO, None, f"line {number}")
    if store.dialect == "postgresql":
        with store.engine.connect() as connection:
            connection.execute(text('ANALYZE "Logs"'))
            connection.commit()
    sizes = store.get_table_sizes()
    by_name = {table.table: table for table in sizes.tables}
    logs = by_name["Logs"]
    assert logs.rows == 120 and logs.exact  # a small table is counted exactly
    assert logs.kind == "logs" and logs.keep_days is None and logs.suggestion is None
    assert by_name["Constants"].kind is None and by_name["Constants"].rows == 0
    if store.dialect == "postgresql":
        assert logs.bytes and logs.bytes > 8192 and sizes.total_bytes
    else:
        assert "dbstat" in sizes.method and logs.bytes and logs.bytes >= 4096
    # Cached: a second reading within the cache time is the same object.
    assert store.get_table_sizes() is sizes
    # Above EXACT_BELOW the estimate stands (no COUNT(*)); a policy shows as kept days.
    monkeypatch.setattr(table_sizes, "EXACT_BELOW", 100)
    store.set_retention_policy({"logs": 30})
    fresh = store.get_table_sizes(max_age=0)
    logs = next(table for table in fresh.tables if table.table == "Logs")
    assert not logs.exact and logs.keep_days == 30
    assert logs.rows is not None and 100 <= logs.rows <= 130


def test_large_tables_kept_whole_get_a_suggestion() -> None:
    tables = [
        TableSize("Logs", 5_000_000, False, 10),
        TableSize("Jobs", 10, True, 2_000_000_000),
        TableSize("Queues", 5_000_000, False, 10),
        TableSize("ApiAudit", 10, True, 10),
        TableSize("Constants", 9_000_000, False, 10),
    ]
    suggest(tables, {"queue_elements": 30})
    said = {table.table: table.suggestion for table in tables}
    assert said["Logs"] == (
        "Large and kept whole: consider keeping logs 90 days (Settings → Retention)."
    )
    assert said["Jobs"] is not None and "jobs 365 days" in said["Jobs"]
    assert said["Queues"] is None and tables[2].keep_days == 30  # has a policy
    assert said["ApiAudit"] is None and said["Constants"] is None

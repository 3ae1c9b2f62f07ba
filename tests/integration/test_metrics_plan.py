"""A scrape reads small ranges on SQLite, whatever the length of the jobs' history.

SQLite's ANALYZE knows how many distinct statuses the jobs have (a handful), not that
RUNNING is a sliver of a long history: asked for the RUNNING jobs per process it walked
a covering index over every job to avoid a sort (76-91 ms of a 98 ms scrape at
1,000,000 jobs, docs/benchmarks.md "Metrics scrape"). Each statement of a real scrape is
captured and must SEARCH its tables, never SCAN `Jobs` or `Queues`, planned with the
statistics ANALYZE wrote for that history (SQLite's choice moves with the table's size:
at 3,000 jobs it happened to search, at 30,000 and 1,000,000 it scanned).
"""

import sqlite3

from sqlalchemy import text

from openorch.store import Store
from support.captured import captured_statements

JOBS = 3000

#: sqlite_stat1 for `Jobs` as ANALYZE wrote it on 1,000,000 ended jobs (bench/metrics_bench.py).
MILLION_JOBS_STATISTICS = {
    "sqlite_autoindex_Jobs_1": "1000000 1",
    "ix_Jobs_start_time": "1000000 1",
    "ix_Jobs_status": "1000000 333334",
    "ix_Jobs_correlation_id": "1000000 1000000",
    "ix_Jobs_status_end_time": "1000000 333334 1",
    "ix_Jobs_start_time_status_process_name": "1000000 1 1 1",
}


def test_a_scrape_searches_the_jobs_instead_of_scanning_them(sqlite_db_url: str) -> None:
    store = Store(sqlite_db_url)
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :jobs) "
                'INSERT INTO "Jobs" (id, process_name, scheduler_name, start_time, end_time, '
                "status) SELECT lower(hex(randomblob(16))), 'process_' || (i % 50), 'robot', "
                "datetime('now', '-' || i || ' minutes'), datetime('now', '-' || i || "
                "' minutes', '+20 seconds'), CASE WHEN i % 100 < 3 THEN 'FAILED' "
                "WHEN i % 100 = 3 THEN 'KILLED' ELSE 'DONE' END FROM n"
            ),
            {"jobs": JOBS},
        )
        connection.execute(text("ANALYZE"))
        for index, statistics in MILLION_JOBS_STATISTICS.items():
            changed = connection.execute(
                text("UPDATE sqlite_stat1 SET stat = :stat WHERE tbl = 'Jobs' AND idx = :idx"),
                {"stat": statistics, "idx": index},
            )
            assert changed.rowcount == 1, f"no statistics for {index}: the schema changed"
    store.engine.dispose()  # new connections read the statistics
    store.get_metric_figures(120.0)  # warm: what the first call checks once
    statements = captured_statements(
        store, lambda: store.get_metric_figures(120.0), lambda s: s.lstrip().startswith("SELECT")
    )
    store.close()
    raw = sqlite3.connect(sqlite_db_url.removeprefix("sqlite:///"))
    try:
        scans = []
        for statement, parameters in statements:
            plan = raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            scans += [
                f"{row[3]}  <-  {' '.join(statement.split())[:160]}"
                for row in plan
                if str(row[3]).startswith("SCAN") and ("Jobs" in row[3] or "Queues" in row[3])
            ]
    finally:
        raw.close()
    assert statements, "the scrape ran no statement"
    assert not scans, "whole-table reads in a scrape:\n" + "\n".join(scans)

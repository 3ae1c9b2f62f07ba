"""The Overview page's server time on a big database:
`python bench/overview_bench.py [--backend sqlite|postgresql|both] [--pg-url URL]`.

Fills a fresh database with 1,000,000 jobs (one every 31 s, so a year of them; 50
processes, mostly Done, 3 % Failed, 1 % Killed), 1,000,000 logs (also a year, 10 %
errors) and 1,000,000 queue elements in 20 queues (a year: 1 % New, so the oldest New
element waits a year, 1 % Failed, the rest Done a minute after they were created) and
100,000 alerts (a year of them, 100 still open), and
looks at it from the end of that year: then times what the
Overview does on every refresh: `Store.get_overview()` plus building the chart options
and table rows (median of several runs; the browser's drawing is not server time).
Target: 200 ms. Prints JSON.
"""

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT / "src")]

from populate import _series, _time, _uuid_sql  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from openorch import migrate  # noqa: E402
from openorch.store import Store, build_engine  # noqa: E402

ROWS = 1_000_000
#: Seconds between two jobs (and two queue elements): a million of them span a year.
SPACING = 31
TARGET_MS = 200.0
#: The data's "now": the end of the year the jobs, logs and elements span.
NOW = datetime(2025, 1, 1) + timedelta(seconds=ROWS * SPACING)


def populate_jobs(engine: Engine, count: int) -> None:
    """`count` ended jobs, SPACING seconds apart, over 50 processes and 5 Schedulers."""
    dialect = engine.dialect.name
    status = "CASE WHEN n % 100 < 3 THEN 'FAILED' WHEN n % 100 = 3 THEN 'KILLED' ELSE 'DONE' END"
    sql = (
        'INSERT INTO "Jobs" (id, process_name, scheduler_name, start_time, end_time, status) '
        f"SELECT {_uuid_sql(dialect)}, 'process_' || (n % 50), 'robot-' || (n % 5), "
        f"{_time(dialect, f'n * {SPACING}')}, {_time(dialect, f'n * {SPACING} + 20')}, {status} "
        f"FROM {_series(dialect, count)}"
    )
    with engine.begin() as connection:
        connection.execute(text(sql))


def populate_logs(engine: Engine, count: int) -> None:
    """`count` logs, SPACING seconds apart, 10 % errors, a job id on every one."""
    dialect = engine.dialect.name
    level = "CASE n % 10 WHEN 0 THEN 'ERROR' WHEN 1 THEN 'TRACE' ELSE 'INFO' END"
    sql = (
        'INSERT INTO "Logs" (id, log_time, log_level, process_name, log_message, job_id) '
        f"SELECT {_uuid_sql(dialect)}, {_time(dialect, f'n * {SPACING}')}, {level}, "
        f"'process_' || (n % 50), 'Benchmark log line ' || n, {_uuid_sql(dialect)} "
        f"FROM {_series(dialect, count)}"
    )
    with engine.begin() as connection:
        connection.execute(text(sql))


def populate_queues(engine: Engine, count: int) -> None:
    """`count` elements over 20 queues; finished ones end a minute after creation."""
    dialect = engine.dialect.name
    # (n / 20) picks the same statuses in every one of the 20 queues.
    status = (
        "CASE WHEN (n / 20) % 100 = 0 THEN 'NEW' WHEN (n / 20) % 100 = 1 THEN 'FAILED' "
        "ELSE 'DONE' END"
    )
    end = f"CASE WHEN (n / 20) % 100 = 0 THEN NULL ELSE {_time(dialect, f'n * {SPACING} + 60')} END"
    sql = (
        'INSERT INTO "Queues" (id, queue_name, status, data, reference, created_date, '
        "end_date, created_by) "
        f"SELECT {_uuid_sql(dialect)}, 'queue_' || (n % 20), {status}, "
        "'{\"invoice\": ' || n || '}', 'REF-' || n, "
        f"{_time(dialect, f'n * {SPACING}')}, {end}, 'bench' FROM {_series(dialect, count)}"
    )
    with engine.begin() as connection:
        connection.execute(text(sql))


#: Alerts in the history, one every ALERT_SPACING seconds, every 1000th still open.
ALERTS = 100_000
ALERT_SPACING = ROWS * SPACING // ALERTS


def populate_alerts(engine: Engine, count: int) -> None:
    """`count` alerts over the year, closed an hour after opening except every 1000th."""
    dialect = engine.dialect.name
    closed = (
        f"CASE WHEN n % 1000 = 0 THEN NULL ELSE {_time(dialect, f'n * {ALERT_SPACING} + 3600')} END"
    )
    sql = (
        'INSERT INTO "Alerts" (id, rule, subject, episode, title, body, opened_at, closed_at, '
        "attempts) "
        f"SELECT {_uuid_sql(dialect)}, CASE n % 2 WHEN 0 THEN 'job_failed' ELSE 'job_killed' END, "
        "'job:' || n, 1, 'Alert ' || n, 'body', "
        f"{_time(dialect, f'n * {ALERT_SPACING}')}, {closed}, 1 FROM {_series(dialect, count)}"
    )
    with engine.begin() as connection:
        connection.execute(text(sql))


def analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        raw.driver_connection.autocommit = True  # type: ignore[union-attr]
        raw.driver_connection.execute("VACUUM ANALYZE")  # type: ignore[union-attr]
        raw.close()
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def render_once(store: Store, now: datetime) -> None:
    """What one Overview refresh costs the server: the reads and the rows built."""
    from openorch.orchestrator.tabs import overview

    figures = store.get_overview(now)
    overview.chart_options(figures)
    overview.queue_rows(figures)
    overview.scheduler_rows(figures)
    overview.attention_rows(figures)
    overview.alert_rows(figures)


def bench(url: str, runs: int) -> dict[str, Any]:
    engine = build_engine(url)
    migrate.upgrade(engine)
    started = time.perf_counter()
    populate_jobs(engine, ROWS)
    populate_logs(engine, ROWS)
    populate_queues(engine, ROWS)
    populate_alerts(engine, ALERTS)
    analyze(engine)
    fill_s = time.perf_counter() - started
    engine.dispose()
    store = Store(url)
    now = NOW
    with store.engine.connect() as connection:
        in_window = connection.execute(
            text('SELECT count(*) FROM "Jobs" WHERE start_time >= :since'),
            {"since": now - timedelta(days=7)},
        ).scalar()
    render_once(store, now)  # warm-up
    timings = []
    for _ in range(runs):
        begun = time.perf_counter()
        render_once(store, now)
        timings.append((time.perf_counter() - begun) * 1000)
    figures = store.get_overview(now)
    # The tables card (issue 29): read uncached, then from the cache as a refresh does.
    size_timings = []
    for _ in range(3):
        begun = time.perf_counter()
        sizes = store.get_table_sizes(max_age=0)
        size_timings.append((time.perf_counter() - begun) * 1000)
    begun = time.perf_counter()
    store.get_table_sizes()
    cached_ms = (time.perf_counter() - begun) * 1000
    store.close()
    median = round(statistics.median(timings), 1)
    return {
        "backend": engine.dialect.name,
        "jobs": ROWS,
        "logs": ROWS,
        "queue_elements": ROWS,
        "jobs_in_last_7_days": in_window,
        "queues_shown": len(figures.queues),
        "alerts": ALERTS,
        "open_alerts": figures.open_alerts,
        "fill_seconds": round(fill_s, 1),
        "overview_ms_median": median,
        "overview_ms_max": round(max(timings), 1),
        "target_ms": TARGET_MS,
        "meets_target": median <= TARGET_MS,
        "table_sizes_uncached_ms_median": round(statistics.median(size_timings), 1),
        "table_sizes_cached_ms": round(cached_ms, 3),
        "table_sizes_method": sizes.method,
        "largest_tables": [
            {"table": table.table, "rows": table.rows, "exact": table.exact, "bytes": table.bytes}
            for table in sizes.tables[:4]
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (default: throwaway cluster)")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="openorch-overview-bench-"))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report: dict[str, Any] = {}
    with contextlib.ExitStack() as servers:
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite:///{folder / 'overview.db'}"
            else:
                from support.pgcluster import create_database, server_or_throwaway

                server = servers.enter_context(server_or_throwaway(args.pg_url))
                url = create_database(server, prefix="overview")
            print(f"[bench] overview on {backend}", file=sys.stderr)
            report[backend] = bench(url, args.runs)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

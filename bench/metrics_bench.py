"""One `/metrics` scrape's server time on a big database:
`python bench/metrics_bench.py [--backend sqlite|postgresql|both] [--rows N] [--pg-url URL]`.

Fills a fresh database with N jobs, N logs and N queue elements (20 queues) and 100,000
alerts, as `overview_bench.py` does, then times what a scrape does: the data layer's
`get_metric_figures` plus rendering the text exposition (median of several runs).
The issue's target is 50 ms at 10,000,000 elements and logs; prints JSON.
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT / "src")]

from overview_bench import (  # noqa: E402
    ALERTS,
    analyze,
    populate_alerts,
    populate_jobs,
    populate_logs,
    populate_queues,
)
from sqlalchemy import Engine, event, text  # noqa: E402

from openorch import migrate  # noqa: E402
from openorch.api.routes.metrics import render  # noqa: E402
from openorch.store import Store, build_engine  # noqa: E402

TARGET_MS = 50.0


def scrape(store: Store) -> int:
    """One scrape's work; returns the exposition's size in bytes."""
    return len(render(store.get_metric_figures(120.0)))


def bench(url: str, rows: int, runs: int) -> dict[str, Any]:
    engine = build_engine(url)
    migrate.upgrade(engine)
    started = time.perf_counter()
    populate_jobs(engine, rows)
    populate_logs(engine, rows)
    populate_queues(engine, rows)
    populate_alerts(engine, ALERTS)
    analyze(engine)
    fill_s = time.perf_counter() - started
    engine.dispose()
    store = Store(url)
    size = scrape(store)  # warm-up
    timings = []
    for _ in range(runs):
        begun = time.perf_counter()
        scrape(store)
        timings.append((time.perf_counter() - begun) * 1000)
    store.close()
    median = round(statistics.median(timings), 1)
    return {
        "backend": engine.dialect.name,
        "jobs": rows,
        "logs": rows,
        "queue_elements": rows,
        "alerts": ALERTS,
        "exposition_bytes": size,
        "fill_seconds": round(fill_s, 1),
        "scrape_ms_median": median,
        "scrape_ms_max": round(max(timings), 1),
        "target_ms": TARGET_MS,
        "meets_target": median <= TARGET_MS,
    }


def _rows_in(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar() or 0)


def _nice_backend(engine: Engine) -> None:
    """Run this engine's PostgreSQL backend at nice 19 (the fill must not take the CPU
    from other work on a shared machine; the measurement runs un-niced)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
    subprocess.run(["renice", "-n", "19", "-p", str(pid)], check=False, capture_output=True)


def bench_existing(url: str, logs: int, jobs: int, runs: int, fill_only: bool) -> dict[str, Any]:
    """The scrape on an existing database (e.g. the 10,000,000 elements that
    `counts_bench.py --keep` made), with logs and jobs added in SQL up to `logs` and
    `jobs` and the alerts when there are none."""
    engine = build_engine(url, pool_size=1, max_overflow=0)
    if engine.dialect.name == "sqlite":  # 10,000,000 random ids: keep the index pages in memory

        @event.listens_for(engine, "connect")
        def big_cache(connection: Any, _record: Any) -> None:
            connection.execute("PRAGMA cache_size = -1000000")

    migrate.upgrade(engine)
    _nice_backend(engine)  # the one pooled connection: the fills below use it
    started = time.perf_counter()
    filled = False
    for table, wanted, fill in (("Logs", logs, populate_logs), ("Jobs", jobs, populate_jobs)):
        have = _rows_in(engine, table)
        if have < wanted:
            print(f"[bench] adding {wanted - have:,} rows to {table}", file=sys.stderr)
            fill(engine, wanted - have)
            filled = True
    if _rows_in(engine, "Alerts") == 0:
        populate_alerts(engine, ALERTS)
        filled = True
    if filled:
        analyze(engine)
    fill_s = time.perf_counter() - started
    engine.dispose()
    report: dict[str, Any] = {"backend": engine.dialect.name, "fill_seconds": round(fill_s, 1)}
    if fill_only:
        return report
    store = Store(url)
    elements = sum(sum(counts.values()) for counts in store.get_queue_count().values())
    size = scrape(store)  # warm-up
    timings = []
    for _ in range(runs):
        begun = time.perf_counter()
        scrape(store)
        timings.append((time.perf_counter() - begun) * 1000)
    store.close()
    median = round(statistics.median(timings), 1)
    report.update(
        {
            "jobs": jobs,
            "logs": _rows_in(build_engine(url), "Logs"),
            "queue_elements": elements,
            "alerts": ALERTS,
            "exposition_bytes": size,
            "scrape_ms_median": median,
            "scrape_ms_max": round(max(timings), 1),
            "scrape_ms_all": [round(t, 1) for t in timings],
            "target_ms": TARGET_MS,
            "meets_target": median <= TARGET_MS,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (default: throwaway cluster)")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--url", help="measure on this existing database (see bench_existing)")
    parser.add_argument("--logs", type=int, default=10_000_000, help="with --url")
    parser.add_argument("--jobs", type=int, default=1_000_000, help="with --url")
    parser.add_argument("--fill-only", action="store_true", help="with --url: fill, no scrape")
    parser.add_argument("--save", help="also write the JSON report to this file")
    args = parser.parse_args()
    if args.url:
        result = bench_existing(args.url, args.logs, args.jobs, args.runs, args.fill_only)
        out = json.dumps(result, indent=2)
        print(out)
        if args.save:
            Path(args.save).write_text(out + "\n")
        return
    folder = Path(tempfile.mkdtemp(prefix="openorch-metrics-bench-"))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report: dict[str, Any] = {}
    with contextlib.ExitStack() as servers:
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite:///{folder / 'metrics.db'}"
            else:
                from support.pgcluster import create_database, server_or_throwaway

                server = servers.enter_context(server_or_throwaway(args.pg_url))
                url = create_database(server, prefix="metrics")
            print(f"[bench] metrics on {backend}", file=sys.stderr)
            report[backend] = bench(url, args.rows, args.runs)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""One `/metrics` scrape's server time on a big database:
`python bench/metrics_bench.py [--backend sqlite|postgresql|both] [--rows N] [--pg-url URL]`.

Fills a fresh database with N jobs, N logs and N queue elements (20 queues) and 100,000
alerts, as `overview_bench.py` does, then times what a scrape does: the data layer's
`get_metric_figures` plus rendering the text exposition (median of several runs).
The issue's target is 50 ms at 10,000,000 elements and logs; prints JSON.
"""

import argparse
import json
import statistics
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (default: throwaway cluster)")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="openorch-metrics-bench-"))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report: dict[str, Any] = {}
    cluster = None
    try:
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite:///{folder / 'metrics.db'}"
            else:
                from support.pgcluster import PgCluster, create_database, find_pg_bin

                server = args.pg_url
                if server is None:
                    pg_bin = find_pg_bin()
                    if pg_bin is None:
                        raise SystemExit("PostgreSQL server binaries not found; pass --pg-url.")
                    cluster = PgCluster(pg_bin).start()
                    server = cluster.server_url
                url = create_database(server, prefix="metrics")
            print(f"[bench] metrics on {backend}", file=sys.stderr)
            report[backend] = bench(url, args.rows, args.runs)
    finally:
        if cluster is not None:
            cluster.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

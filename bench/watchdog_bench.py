"""How long one evaluation of every alert rule takes on a big database.

Fills a database with 1,000,000 jobs (2 % FAILED or KILLED, ended over 40 days), their
error logs for the last day's failures, 1,000,000 queue elements over 10 queues, 200
triggers and 20 Schedulers; switches every rule on; then times `Watchdog.evaluate()`
(median of N runs after a warm-up; the first evaluation opens the alerts, later ones
find them open, which is the steady state every 30 s) and prints the plans of the two
queries that touch the big tables.

    python bench/watchdog_bench.py                      # SQLite and a throwaway PostgreSQL
    python bench/watchdog_bench.py --backend postgresql
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT / "src")]

from populate import _analyze, _series, _time, _uuid_sql  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from openorch import migrate  # noqa: E402
from openorch.alerts import Watchdog  # noqa: E402
from openorch.crypto import generate_key  # noqa: E402
from openorch.database.alerts import RULE_KINDS  # noqa: E402
from openorch.store import Store, build_engine  # noqa: E402

JOBS = 1_000_000
ELEMENTS_PER_QUEUE = 100_000
QUEUES = 10


def fill(engine: Engine) -> None:
    """The volumes above, in SQL; timestamps relative to now (the rules look back)."""
    dialect = engine.dialect.name
    start = datetime.now() - timedelta(days=40)
    seconds = int(timedelta(days=40).total_seconds())

    def at(expr: str) -> str:
        base = _time(dialect, expr)
        return base.replace("2025-01-01 00:00:00", start.strftime("%Y-%m-%d %H:%M:%S"))

    status = "CASE WHEN n % 100 = 0 THEN 'FAILED' WHEN n % 100 = 1 THEN 'KILLED' ELSE 'DONE' END"
    step = f"(n * {seconds / JOBS:.6f})"
    jobs = (
        'INSERT INTO "Jobs" (id, process_name, scheduler_name, start_time, end_time, status, '
        f"trigger_id) SELECT {_uuid_sql(dialect)}, 'process_' || (n % 50), 'robot_' || (n % 20), "
        f"{at(step)}, {at(step + ' + 60')}, {status}, NULL FROM {_series(dialect, JOBS)}"
    )
    elements = []
    for queue in range(QUEUES):
        qstatus = (
            "CASE WHEN n % 100 = 0 THEN 'NEW' WHEN n % 100 = 1 THEN 'FAILED' "
            "WHEN n % 100 = 2 THEN 'ABANDONED' ELSE 'DONE' END"
        )
        qstep = f"(n * {seconds / ELEMENTS_PER_QUEUE:.6f})"
        elements.append(
            'INSERT INTO "Queues" (id, queue_name, status, data, reference, created_date, '
            f"end_date, created_by) SELECT {_uuid_sql(dialect)}, 'queue_{queue}', {qstatus}, "
            f"'{{}}', 'REF-' || n, {at(qstep)}, {at(qstep + ' + 30')}, 'bench' "
            f"FROM {_series(dialect, ELEMENTS_PER_QUEUE)}"
        )
    with engine.begin() as connection:
        connection.execute(text(jobs))
        for statement in elements:
            connection.execute(text(statement))
    _analyze(engine)


def prepare(url: str) -> Store:
    engine = build_engine(url)
    migrate.upgrade(engine)
    print(f"[watchdog bench] {engine.dialect.name}: filling...", file=sys.stderr)
    fill(engine)
    engine.dispose()
    store = Store(url, crypto_key=generate_key())
    now = datetime.now()
    for index in range(200):
        store.create_scheduled_trigger(
            f"trigger {index}",
            f"process_{index % 50}",
            "*/5 * * * *",
            now - timedelta(minutes=index % 40),
            "/robots/p.py",
            None,
            False,
            True,
        )
    for index in range(20):
        store.send_ping_from_scheduler(f"robot_{index}")
    return store


def measure(url: str, runs: int) -> dict[str, object]:
    store = prepare(url)
    for kind in RULE_KINDS:
        store.save_alert_rule(kind, enabled=True)
    # Switched on "40 days ago": the job rules look back their full 24 hours.
    watchdog = Watchdog(store, "bench", lambda _line: None, interval=0, lease_seconds=600)
    started = time.perf_counter()
    watchdog.evaluate()
    first = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(runs):
        watchdog._job_watermark = None  # a watchdog that just took over: the worst case
        started = time.perf_counter()
        watchdog.evaluate()
        times.append((time.perf_counter() - started) * 1000)
    plans = explain(store)
    result = {
        "backend": store.dialect,
        "jobs": JOBS,
        "queue_elements": ELEMENTS_PER_QUEUE * QUEUES,
        "alerts_opened_by_first_evaluation": len(store.get_alerts(limit=100_000)),
        "first_evaluation_ms": round(first, 1),
        "steady_evaluation_ms_median": round(statistics.median(times), 1),
        "plans": plans,
    }
    store.close()
    return result


def explain(store: Store) -> dict[str, str]:
    """The plans of the job-failure and queue-failure reads (PostgreSQL only)."""
    if store.dialect != "postgresql":
        return {}
    since = datetime.now() - timedelta(hours=24)
    queries = {
        "failed_jobs": (
            "SELECT * FROM \"Jobs\" WHERE status IN ('FAILED', 'KILLED') "
            "AND end_time >= :since ORDER BY end_time LIMIT 500"
        ),
        "queue_failures": (
            "SELECT queue_name, count(*) FROM \"Queues\" WHERE status IN ('FAILED', "
            "'ABANDONED') AND end_date >= :since GROUP BY queue_name"
        ),
        "oldest_new": (
            "SELECT min(created_date) FROM \"Queues\" WHERE queue_name = 'queue_3' "
            "AND status = 'NEW'"
        ),
    }
    plans = {}
    with store.engine.connect() as connection:
        for name, sql in queries.items():
            rows = connection.execute(text("EXPLAIN " + sql), {"since": since}).all()
            plans[name] = "\n".join(row[0] for row in rows)
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="openorch-watchdog-bench-"))
    results = []
    if args.backend in ("sqlite", "both"):
        results.append(measure(f"sqlite:///{folder / 'bench.db'}", args.runs))
    if args.backend in ("postgresql", "both"):
        from support.pgcluster import PgCluster, create_database, find_pg_bin

        pg_bin = find_pg_bin()
        assert pg_bin is not None, "PostgreSQL server binaries not found"
        cluster = PgCluster(pg_bin).start()
        try:
            results.append(measure(create_database(cluster.server_url), args.runs))
        finally:
            cluster.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

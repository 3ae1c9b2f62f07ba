"""Pruning while robots work: `python bench/prune_bench.py [--backend sqlite|postgresql]
[--logs N] [--elements N] [--claimers K] [--seconds S]`.

Fills a fresh database with N logs and N old finished queue elements (a year old) and a
work queue, then runs K claimer processes (claim an element, mark it DONE, again) for S
seconds without pruning and S seconds while this process prunes logs and queue elements
older than 30 days (`Store.prune`, the default batches). Prints JSON: claims per second
in both phases, their ratio, and the longest single claim each phase saw. The issue's
targets: ratio >= 0.90, longest claim while pruning <= 100 ms (at 5,000,000 logs and
2,000,000 elements with 8 claimers).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT / "src")]

from populate import populate_logs, populate_queue  # noqa: E402
from run import fresh_database  # noqa: E402
from sqlalchemy import text  # noqa: E402

from openorch import migrate  # noqa: E402
from openorch.store import Store, build_engine  # noqa: E402

CLAIMER = """
import json, sys, time
from openorch.store import Store
from openorch.database import QueueStatus
url, seconds, start_file = sys.argv[1], float(sys.argv[2]), sys.argv[3]
store = Store(url)
store.ping()
import os
while not os.path.exists(start_file):
    time.sleep(0.01)
claims, longest, end = 0, 0.0, time.monotonic() + seconds
while time.monotonic() < end:
    began = time.perf_counter()
    element = store.get_next_queue_element("work")
    longest = max(longest, time.perf_counter() - began)
    if element is None:
        break
    store.set_queue_element_status(element.id, QueueStatus.DONE)
    claims += 1
print(json.dumps({"claims": claims, "longest_ms": round(longest * 1000, 1)}))
"""


def phase(url: str, claimers: int, seconds: float, folder: Path, prune: bool) -> dict[str, Any]:
    start = folder / f"start-{time.monotonic_ns()}"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, url, str(seconds), str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(claimers)
    ]
    time.sleep(3)  # interpreters started and connected
    pruned: dict[str, Any] = {}

    def prune_all() -> None:
        store = Store(url)
        for kind in ("logs", "queue_elements"):
            result = store.prune(kind, 30)
            pruned[kind] = {"rows": result.rows, "seconds": round(result.seconds, 1)}
        store.close()

    start.write_text("go")
    thread = threading.Thread(target=prune_all) if prune else None
    if thread:
        thread.start()
    results = [json.loads(worker.communicate()[0]) for worker in workers]
    if thread:
        thread.join()
    claims = sum(result["claims"] for result in results)
    return {
        "claims_per_second": round(claims / seconds, 1),
        "longest_claim_ms": max(result["longest_ms"] for result in results),
        "pruned": pruned,
    }


def bench(
    url: str, logs: int, elements: int, claimers: int, seconds: float, folder: Path
) -> dict[str, Any]:
    engine = build_engine(url)
    migrate.upgrade(engine)
    populate_logs(engine, logs)  # dated 2025: all older than 30 days
    populate_queue(engine, "old", elements)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE \"Queues\" SET status = 'DONE', end_date = created_date "
                "WHERE queue_name = 'old'"
            )
        )
    populate_queue(engine, "work", 400_000, mixed=False)
    engine.dispose()
    quiet = phase(url, claimers, seconds, folder, prune=False)
    busy = phase(url, claimers, seconds, folder, prune=True)
    return {
        "logs": logs,
        "old_elements": elements,
        "claimers": claimers,
        "seconds_per_phase": seconds,
        "without_pruning": quiet,
        "while_pruning": busy,
        "rate_ratio": round(busy["claims_per_second"] / max(quiet["claims_per_second"], 0.1), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (default: throwaway cluster)")
    parser.add_argument("--logs", type=int, default=5_000_000)
    parser.add_argument("--elements", type=int, default=2_000_000)
    parser.add_argument("--claimers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="openorch-prune-bench-"))
    cluster = None
    try:
        server = args.pg_url
        if args.backend == "postgresql" and server is None:
            from support.pgcluster import PgCluster, find_pg_bin

            pg_bin = find_pg_bin()
            if pg_bin is None:
                raise SystemExit("PostgreSQL server binaries not found; pass --pg-url.")
            cluster = PgCluster(pg_bin).start()
            server = cluster.server_url
        url = fresh_database(args.backend, server, folder)
        report = bench(url, args.logs, args.elements, args.claimers, args.seconds, folder)
        report["backend"] = args.backend
    finally:
        if cluster is not None:
            cluster.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Queue hot paths before and after a change: `python bench/queue_bench.py [--backend ...]`.

Measures, on SQLite and a throwaway PostgreSQL, the median of:
- claiming the next element (`get_next_queue_element`) in a 1,000,000-element table, as
  an unbound claim and (when the code under test supports it) bound to a job;
- `bulk_create_queue_elements` of 100,000 elements, and (when supported) on a queue with
  unique references.
Run it with PYTHONPATH pointing at the code to measure, so the same script compares two
checkouts. Prints JSON.
"""

import argparse
import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from populate import populate_queue  # noqa: E402
from run import fresh_database, median_ms, prepared  # noqa: E402


def bench(url: str, runs: int) -> dict[str, Any]:
    store = prepared(url)
    out: dict[str, Any] = {}
    count = 100_000
    references = [f"r{i}" for i in range(count)]
    data = ["{}"] * count
    rounds = iter(range(10_000))
    out["bulk_create_100k_ms"] = median_ms(
        lambda: store.bulk_create_queue_elements(f"bulk{next(rounds)}", references, data), runs
    )
    if hasattr(store, "set_queue_settings"):

        def unique_bulk() -> None:
            name = f"unique{next(rounds)}"
            store.set_queue_settings(name, unique_references=True)
            store.bulk_create_queue_elements(name, references, data)

        out["bulk_create_100k_unique_ms"] = median_ms(unique_bulk, runs)
    populate_queue(store.engine, "big", 1_000_000)
    claims = max(runs * 5, 45)
    out["claim_next_in_1m_ms"] = median_ms(lambda: store.get_next_queue_element("big"), claims)
    if "job_id" in store.get_next_queue_element.__code__.co_varnames:
        job = uuid.uuid4()
        out["claim_next_bound_in_1m_ms"] = median_ms(
            lambda: store.get_next_queue_element("big", job_id=job), claims
        )
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="openorch-qbench-"))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report: dict[str, Any] = {}
    cluster = None
    try:
        pg_server = None
        if "postgresql" in backends:
            from support.pgcluster import PgCluster, find_pg_bin

            pg_bin = find_pg_bin()
            if pg_bin is None:
                raise SystemExit("PostgreSQL server binaries not found.")
            cluster = PgCluster(pg_bin).start()
            pg_server = cluster.server_url
        for backend in backends:
            print(f"[queue bench] {backend}", file=sys.stderr)
            report[backend] = bench(fresh_database(backend, pg_server, folder), args.runs)
    finally:
        if cluster is not None:
            cluster.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""A/B of the queue hot paths in one process, so machine load hits both sides alike:
`python bench/queue_ab.py [--backend sqlite|postgresql|both]`.

- claim: the claim statement openorch 0.1 ran (oldest NEW, no not-before, no job) against
  today's (oldest claimable, bound to a job), alternating batches of 50 on the same
  1,000,000-element table;
- bulk create of 100,000 elements with and without the three filtered indexes of
  revision 0d14a1e5c001 (two databases, alternating), and on a queue with unique
  references.
Prints JSON: medians in ms per claim and per bulk call.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from populate import populate_queue  # noqa: E402
from run import fresh_database, prepared  # noqa: E402
from sqlalchemy import bindparam, select, text, update  # noqa: E402

from openorch.database import QueueElement, QueueStatus  # noqa: E402
from openorch.database.base import table_of  # noqa: E402
from openorch.store import Store  # noqa: E402
from openorch.store.queues.claim import claim_update_statement  # noqa: E402

QUEUES = table_of(QueueElement)
NEW_INDEXES = (
    "ix_Queues_job_id",
    "ix_Queues_status_deadline",
    "ux_Queues_queue_name_unique_reference",
)


def previous_claim() -> Any:
    """The claim statement before elements were bound (openorch at a3f1c0de0001)."""
    target = (
        select(QUEUES.c.id)
        .where(QUEUES.c.queue_name == bindparam("claim_queue"))
        .where(QUEUES.c.status == QueueStatus.NEW)
        .order_by(QUEUES.c.created_date)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (
        update(QUEUES)
        .where(QUEUES.c.id == target.scalar_subquery())
        .values(status=QueueStatus.IN_PROGRESS, start_date=bindparam("claim_now"))
        .returning(*QUEUES.c)
    )


def ab_claim(store: Store, batches: int = 20, size: int = 50) -> dict[str, float]:
    now = claim_update_statement(False, store.dialect)
    statements = {
        "before": (previous_claim(), None),
        "now_bound": (now, uuid.uuid4()),
        "now_unbound": (now, None),
    }
    engine = store._single_engine  # the engine the store's claim runs on
    times: dict[str, list[float]] = {name: [] for name in statements}
    for batch in range(batches):
        order = list(statements.items())
        for name, (statement, job) in order if batch % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            for _ in range(size):
                parameters = {"claim_queue": "big", "claim_now": datetime.now(), "claim_job": job}
                with engine.begin() as connection:
                    connection.execute(statement, parameters).first()
            times[name].append((time.perf_counter() - started) / size * 1000)
    return {
        f"claim_{name}_ms": round(statistics.median(values), 3) for name, values in times.items()
    }


def ab_bulk(with_indexes: Store, without: Store, unique: Store, runs: int = 5) -> dict[str, float]:
    """Alternate the two databases (order swapped every run) so both grow alike and load
    hits both; then, apart, the same bulk create on queues with unique references."""
    count = 100_000
    references = [f"r{i}" for i in range(count)]
    data = ["{}"] * count
    times: dict[str, list[float]] = {"with": [], "without": [], "unique": []}
    for run in range(runs):
        pairs = [("with", with_indexes), ("without", without)]
        for name, store in pairs if run % 2 == 0 else pairs[::-1]:
            started = time.perf_counter()
            store.bulk_create_queue_elements(f"b{run}", references, data)
            times[name].append((time.perf_counter() - started) * 1000)
    for run in range(runs):
        unique.set_queue_settings(f"u{run}", unique_references=True)
        started = time.perf_counter()
        unique.bulk_create_queue_elements(f"u{run}", references, data)
        times["unique"].append((time.perf_counter() - started) * 1000)
    return {
        "bulk_100k_ms": round(statistics.median(times["with"]), 1),
        "bulk_100k_without_new_indexes_ms": round(statistics.median(times["without"]), 1),
        "bulk_100k_unique_ms": round(statistics.median(times["unique"]), 1),
    }


def bench(
    backend: str, pg_server: str | None, folder: Path, bulk_runs: int = 5, claim_batches: int = 20
) -> dict[str, Any]:
    with_indexes = prepared(fresh_database(backend, pg_server, folder))
    without = prepared(fresh_database(backend, pg_server, folder))
    with without.engine.begin() as connection:
        for name in NEW_INDEXES:
            connection.execute(text(f'DROP INDEX "{name}"'))
    unique = prepared(fresh_database(backend, pg_server, folder))
    out: dict[str, Any] = ab_bulk(with_indexes, without, unique, bulk_runs)
    without.close()
    unique.close()
    claims = prepared(fresh_database(backend, pg_server, folder))
    populate_queue(claims.engine, "big", 1_000_000)
    out.update(ab_claim(claims, claim_batches))
    claims.close()
    with_indexes.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--bulk-runs", type=int, default=5)
    parser.add_argument("--claim-batches", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="openorch-qab-"))
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
            print(f"[queue a/b] {backend}", file=sys.stderr)
            report[backend] = bench(backend, pg_server, folder, args.bulk_runs, args.claim_batches)
    finally:
        if cluster is not None:
            cluster.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""The claim's plan on PostgreSQL, A/B: `python bench/claim_plan_ab.py [--elements N]
[--claims N] [--save]`.

Two ways to write the claim's search for the oldest NEW element, on the same table,
in alternating batches of 50 claims (each claimed element then marked DONE, untimed):

- **plain**, as openorch wrote it until 2026-12-06: `queue_name = q AND status = 'NEW'
  ... ORDER BY created_date LIMIT 1`;
- **range**, today's (`store/queues/claim.py`, `new_in_queue`): a row range on
  (queue_name, status, created_date) and ORDER BY all three, which only that index
  serves.

Two states of the statistics, each on its own fresh table of N NEW elements in the
claimed queue and N in another:

- **fresh**: 30 % of the claimed queue already DONE (its oldest), then VACUUM ANALYZE:
  the planner knows; both should cost the same (the happy path must not get slower);
- **stale**: ANALYZE while every element is NEW (as after a bulk load), then the claims
  work from the oldest end: the plain statement may take the single-column
  `created_date` index and walk every element already done.

Prints JSON: median ms per claim per statement, over the first and the last tenth of
the batches; with `--save` writes bench/claim-plan-results-latest.json.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests"), str(HERE.parent / "src")]

from run import fresh_database, prepared  # noqa: E402
from sqlalchemy import Connection, bindparam, select, text, update  # noqa: E402

from openorch.database import QueueElement, QueueStatus  # noqa: E402
from openorch.database.base import table_of  # noqa: E402
from openorch.store import Store  # noqa: E402
from openorch.store.queues.claim import claim_update_statement  # noqa: E402

QUEUES = table_of(QueueElement)
BATCH = 50


def plain_claim() -> Any:
    """The claim as written before `new_in_queue` (equalities, ORDER BY created_date)."""
    target = (
        select(QUEUES.c.id)
        .where(QUEUES.c.queue_name == bindparam("claim_queue"))
        .where(QUEUES.c.status == QueueStatus.NEW)
        .where((QUEUES.c.not_before.is_(None)) | (QUEUES.c.not_before <= bindparam("claim_now")))
        .order_by(QUEUES.c.created_date)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (
        update(QUEUES)
        .where(QUEUES.c.id == target.scalar_subquery())
        .values(
            status=QueueStatus.IN_PROGRESS,
            start_date=bindparam("claim_now"),
            job_id=bindparam("claim_job"),
        )
        .returning(QUEUES.c.id)
    )


def _maintenance(store: Store, sql: str) -> None:
    raw = store.engine.raw_connection()
    raw.driver_connection.autocommit = True
    raw.driver_connection.execute(sql)
    raw.close()


def _filled(pg_server: str, folder: Path, elements: int) -> Store:
    store = prepared(fresh_database("postgresql", pg_server, folder))
    for queue in ("work", "other"):
        for start in range(0, elements, 100_000):
            size = min(100_000, elements - start)
            store.bulk_create_queue_elements(
                queue, [f"{queue}{n}" for n in range(start, start + size)], [None] * size
            )
    return store


def _claim_batch(connection: Connection, statement: Any) -> float:
    """ms per claim over one batch (each claimed element marked DONE, untimed)."""
    spent = 0.0
    for _ in range(BATCH):
        parameters = {"claim_queue": "work", "claim_now": datetime.now(), "claim_job": None}
        started = time.perf_counter()
        with connection.begin():
            key = connection.execute(statement, parameters).scalar_one()
        spent += time.perf_counter() - started
        with connection.begin():
            connection.execute(
                text("""UPDATE "Queues" SET status = 'DONE', end_date = now() WHERE id = :id"""),
                {"id": key},
            )
    return spent / BATCH * 1000


def ab(store: Store, claims: int) -> dict[str, Any]:
    statements = {"plain": plain_claim(), "range": claim_update_statement(False, "postgresql")}
    times: dict[str, list[float]] = {name: [] for name in statements}
    batches = max(10, claims // (BATCH * len(statements)))
    with store.engine.connect() as connection:
        for number in range(batches):
            order = list(statements.items())
            for name, statement in order if number % 2 == 0 else order[::-1]:
                times[name].append(_claim_batch(connection, statement))
    tenth = max(1, batches // 10)
    return {
        name: {
            "first_tenth_ms_per_claim": round(statistics.median(values[:tenth]), 3),
            "last_tenth_ms_per_claim": round(statistics.median(values[-tenth:]), 3),
            "all_ms_per_claim": round(statistics.median(values), 3),
        }
        for name, values in times.items()
    } | {"claims": batches * BATCH * len(statements)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--elements", type=int, default=300_000, help="per queue")
    parser.add_argument("--claims", type=int, default=40_000, help="per state, both statements")
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (default: throwaway cluster)")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="openorch-claim-plan-"))
    from support.pgcluster import server_or_throwaway

    report: dict[str, Any] = {"elements_per_queue": args.elements, "batch": BATCH}
    with server_or_throwaway(args.pg_url) as pg_server:
        fresh = _filled(pg_server, folder, args.elements)
        _maintenance(
            fresh,
            """UPDATE "Queues" SET status = 'DONE' WHERE id IN (SELECT id FROM "Queues"
            WHERE queue_name = 'work' ORDER BY created_date LIMIT """
            f"{int(args.elements * 0.3)})",
        )
        _maintenance(fresh, 'VACUUM ANALYZE "Queues"')
        print("[claim plan] fresh statistics", file=sys.stderr)
        report["fresh"] = ab(fresh, args.claims)
        fresh.close()
        stale = _filled(pg_server, folder, args.elements)
        _maintenance(stale, 'ANALYZE "Queues"')
        print("[claim plan] stale statistics", file=sys.stderr)
        report["stale"] = ab(stale, args.claims)
        stale.close()
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text_out = json.dumps(report, indent=2)
    print(text_out)
    if args.save:
        (HERE / "claim-plan-results-latest.json").write_text(text_out + "\n")


if __name__ == "__main__":
    main()

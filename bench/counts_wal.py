"""What the counts' triggers and the search index add to each write, in a measure a busy
machine cannot blur: PostgreSQL's WAL bytes (and the median time) per claim + DONE and
per bulk-created element (full-page writes and autovacuum off; the bulk's figure
includes the VACUUM after it), in the three schema states of
`counts_bench.py` ("before": neither, "counts": the count triggers, "after": both), and
"index_on_queues": the counts and the first design's trigram index on `Queues` itself.
`python bench/counts_wal.py`. Prints JSON.
"""

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from counts_bench import MODES, _set_objects  # noqa: E402
from run import fresh_database  # noqa: E402

from openorch import migrate  # noqa: E402
from openorch.database import QueueStatus  # noqa: E402
from openorch.store import Store, build_engine  # noqa: E402
from openorch.store.queues.search import PG_DOCUMENT  # noqa: E402


def _lsn(store: Store) -> int:
    with store.engine.connect() as connection:
        return int(
            connection.exec_driver_sql(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint"
            ).scalar_one()
        )


def measure(url: str, claims: int, bulk: int) -> dict[str, Any]:
    engine = build_engine(url)
    migrate.upgrade(engine)
    # Full-page images after each checkpoint would add bytes by when checkpoints fall,
    # not by what a write does (the throwaway cluster only).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ALTER SYSTEM SET full_page_writes = off")
        connection.exec_driver_sql("ALTER SYSTEM SET autovacuum = off")
        connection.exec_driver_sql("SELECT pg_reload_conf()")
    store = Store(engine)
    out: dict[str, Any] = {}
    for round_ in range(2):
        for mode in (*MODES, "index_on_queues"):
            _set_objects(engine, "counts" if mode == "index_on_queues" else mode)
            with engine.begin() as connection:
                connection.exec_driver_sql('DROP INDEX IF EXISTS "ix_Queues_search_trgm"')
                if mode == "index_on_queues":  # the first design: the GIN index on Queues
                    connection.exec_driver_sql(
                        'CREATE INDEX "ix_Queues_search_trgm" ON "Queues" USING gin ('
                        f"{PG_DOCUMENT.format(row='')} gin_trgm_ops)"
                    )
            queue = f"{mode}{round_}"
            references = [f"r{i}" for i in range(bulk)]
            data = [f'{{"invoice": {i}, "amount": 100}}' for i in range(bulk)]
            before = _lsn(store)
            store.bulk_create_queue_elements(queue, references, data)
            # VACUUM in the bulk's measure: it flushes the GIN index's pending list
            # (work the insert defers), so that work is not counted against the claims.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM")
            bulk_wal = (_lsn(store) - before) / bulk
            times = []
            before = _lsn(store)
            for _ in range(claims):
                started = time.perf_counter()
                element = store.get_next_queue_element(queue)
                assert element is not None
                store.set_queue_element_status(element.id, QueueStatus.DONE)
                times.append((time.perf_counter() - started) * 1000)
            claim_wal = (_lsn(store) - before) / claims
            row = out.setdefault(mode, {"bulk_wal": [], "claim_wal": [], "claim_ms": []})
            row["bulk_wal"].append(round(bulk_wal))
            row["claim_wal"].append(round(claim_wal))
            row["claim_ms"].append(round(statistics.median(times), 3))
            if mode != "before":
                store.compact_queue_counts()
        with engine.begin() as connection:
            connection.exec_driver_sql('DROP INDEX IF EXISTS "ix_Queues_search_trgm"')
    store.close()
    engine.dispose()
    return out


def main() -> None:
    from support.pgcluster import PgCluster, find_pg_bin

    pg_bin = find_pg_bin()
    if pg_bin is None:
        raise SystemExit("PostgreSQL server binaries not found.")
    cluster = PgCluster(pg_bin).start()
    try:
        url = fresh_database("postgresql", cluster.server_url, Path(tempfile.mkdtemp()))
        result = measure(url, claims=2000, bulk=20_000)
    finally:
        cluster.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

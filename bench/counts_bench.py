"""Counts and search at scale (issue 31): `python bench/counts_bench.py [--backend ...]
[--elements N] [--original]`.

Fills a database at the revision before the counts (0d1ba1e5c001) with N elements over
50 queues (one of them a tenth of all: the "big" queue), in SQL, then times the upgrade
(backfilling the counts, building the search index) and measures the median of:

- `get_queue_count()` (every queue) and `get_queue_count(one)`, beside the hand-written
  GROUP BY on the raw driver connection (the floor of counting by scan);
- one page of the big queue with its total, beside the hand-written page + COUNT(*);
- one page of the big queue filtered by a 5-character substring that matches few rows,
  with its total, beside the hand-written plain LIKE page + COUNT(*);
- with `--original`, the same calls through OpenOrchestrator 3.0.0 (the tests' cached
  side virtualenv) on the same database.

Then the write side, on a fresh database at head, in rounds over three schema states:
"after" (the count triggers and the search index), "counts" (the triggers only) and
"before" (neither: the previous revision's schema; claims run the same code either way):
`bulk_create_queue_elements` of 100,000 elements, and on PostgreSQL 8 and 32 processes
claiming from one queue (claim + DONE), timed once all are connected (`--modes` picks
the states; "rowwise" is SQLite's bulk create counted by the row trigger per element, as
before store/queues/bulk_triggers.py). Prints JSON.

At 10,000,000 elements the fill takes long: `--keep DIR --fill-only` (run under
`nice -n 19`) fills once into DIR (SQLite) or the database counts_N on `--pg-url`'s
server, and later runs with `--keep DIR` reuse it (measure un-niced). `--terms` adds
search terms (`31415` has three distinct trigrams; `77777` only one). `--search-index` makes
SQLite's opt-in FTS5 index before the reads.
"""

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from populate import _series, _time, _uuid_sql  # noqa: E402
from run import fresh_database, median_ms  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from openorch import migrate  # noqa: E402
from openorch.store import Store, build_engine  # noqa: E402
from openorch.store.queues import bulk_triggers, search  # noqa: E402
from openorch.store.queues import counts as queue_counts  # noqa: E402

ROW_TRIGGERS_ABOVE = bulk_triggers.ROW_TRIGGERS_ABOVE

QUEUES = 50
BIG = "q00"
TERM = "77777"
BEFORE_COUNTS = "0d1ba1e5c001"


def populate(engine: Engine, total: int) -> None:
    """`total` elements: a tenth in BIG, the rest spread over q01..q49; 1 % NEW, 1 %
    FAILED, 1 % IN_PROGRESS, the rest DONE (a mature estate)."""
    dialect = engine.dialect.name
    big = total // 10
    queue = (
        f"CASE WHEN n < {big} THEN '{BIG}' ELSE "
        f"'q' || substr('0' || CAST(1 + n % {QUEUES - 1} AS VARCHAR(3)), -2, 2) END"
        if dialect == "sqlite"
        else f"CASE WHEN n < {big} THEN '{BIG}' ELSE "
        f"'q' || lpad((1 + n % {QUEUES - 1})::text, 2, '0') END"
    )
    status = (
        "CASE WHEN n % 100 = 0 THEN 'NEW' WHEN n % 100 = 1 THEN 'FAILED' "
        "WHEN n % 100 = 2 THEN 'IN_PROGRESS' ELSE 'DONE' END"
    )
    sql = (
        'INSERT INTO "Queues" (id, queue_name, status, data, reference, created_date, created_by) '
        f"SELECT {_uuid_sql(dialect)}, {queue}, {status}, "
        "'{\"invoice\": ' || n || ', \"amount\": 100}', 'REF-' || n, "
        f"{_time(dialect, 'n')}, 'bench' FROM {_series(dialect, total)}"
    )
    with engine.begin() as connection:
        if dialect == "sqlite":  # 10,000,000 random ids: keep the index pages in memory
            connection.exec_driver_sql("PRAGMA cache_size = -1000000")
        connection.execute(text(sql))


def _raw(engine: Engine, sql: str, *parameters: Any) -> Callable[[], object]:
    """A hand-written query on the raw driver connection, kept open (the floor)."""
    raw = engine.raw_connection()
    cursor = raw.cursor()
    marker = "?" if engine.dialect.name == "sqlite" else "%s"

    def run() -> object:
        used = 0
        for statement in sql.split(";"):
            wanted = statement.count("?")
            cursor.execute(statement.replace("?", marker), parameters[used : used + wanted])
            used += wanted
            rows = cursor.fetchall()
        if engine.dialect.name == "sqlite":
            raw.rollback()
        return rows

    return run


def reads(
    url: str, runs: int, floor_runs: int | None = None, terms: tuple[str, ...] = (TERM,)
) -> list[dict[str, Any]]:
    store = Store(url)
    engine = store.engine
    page = (
        'SELECT * FROM "Queues" WHERE queue_name = ? ORDER BY created_date LIMIT 100;'
        'SELECT COUNT(*) FROM "Queues" WHERE queue_name = ?'
    )
    searched = (
        'SELECT * FROM "Queues" WHERE queue_name = ? AND (reference LIKE ? OR data LIKE ? '
        "OR message LIKE ?) ORDER BY created_date LIMIT 100;"
        'SELECT COUNT(*) FROM "Queues" WHERE queue_name = ? AND (reference LIKE ? '
        "OR data LIKE ? OR message LIKE ?)"
    )
    figures = [
        (
            "get_queue_count, every queue",
            lambda: store.get_queue_count(),
            _raw(
                engine,
                'SELECT queue_name, status, COUNT(*) FROM "Queues" GROUP BY queue_name, status',
            ),
            "≤ 10 ms",
        ),
        (
            "get_queue_count, one queue",
            lambda: store.get_queue_count(BIG),
            _raw(
                engine,
                'SELECT status, COUNT(*) FROM "Queues" WHERE queue_name = ? GROUP BY status',
                BIG,
            ),
            "≤ 2 ms",
        ),
        (
            "a page of the big queue with its total",
            lambda: store.get_queue_elements(BIG, include_count=True),
            _raw(engine, page, BIG, BIG),
            "≤ 5 ms",
        ),
    ]
    for term in terms:
        like = "%" + term + "%"
        found = store.get_queue_elements(BIG, search_term=term, include_count=True)[1]
        figures.append(
            (
                f"a page of the big queue searched for {term!r} ({found} matches) with its total",
                functools.partial(
                    store.get_queue_elements, BIG, search_term=term, include_count=True
                ),
                _raw(engine, searched, BIG, term + "%", like, like, BIG, term + "%", like, like),
                "≤ 50 ms",
            )
        )
    out = []
    for name, ours, floor, target in figures:
        ours_ms = median_ms(ours, runs)
        floor_ms = median_ms(floor, floor_runs or runs)
        out.append(
            {
                "figure": name,
                "ours_ms": ours_ms,
                "floor_ms": floor_ms,
                "ratio": round(ours_ms / floor_ms, 3) if floor_ms else None,
                "target": target,
            }
        )
    store.close()
    return out


def pending_reads(
    url: str, runs: int, terms: tuple[str, ...], pending: int
) -> list[dict[str, Any]]:
    """The searches again while `pending` new elements (another queue's bulk create) wait
    for the search indexer: a search reads the index and every noted element. Then
    the indexing of those elements, timed as the lease holder does it (SQLite: with its
    pauses), and the elements deleted and that indexed too (the database is kept)."""
    store = Store(url)
    queue = "pending-notes"
    store.bulk_create_queue_elements(
        queue, [f"p{n}" for n in range(pending)], [f"noted {n}" for n in range(pending)]
    )
    with store.engine.connect() as connection:
        waiting = search.backlog(connection)
    out: list[dict[str, Any]] = []
    for term in terms:
        found = store.get_queue_elements(BIG, search_term=term, include_count=True)[1]
        call = functools.partial(
            store.get_queue_elements, BIG, search_term=term, include_count=True
        )
        out.append(
            {
                "figure": f"a page of the big queue searched for {term!r} ({found} matches) "
                f"with its total, {waiting:,} elements waiting for the indexer",
                "ours_ms": median_ms(call, runs),
                "target": "≤ 50 ms",
            }
        )
    for what in ("indexing", "deleting, then indexing"):
        if what.startswith("deleting"):
            with store.engine.begin() as connection:
                connection.execute(text('DELETE FROM "Queues" WHERE queue_name = :q'), {"q": queue})
        started = time.perf_counter()
        while store.index_search_backlog(seconds=3600):
            pass
        out.append(
            {
                "figure": f"{what} those {pending:,} elements later (ms, as the lease holder)",
                "ours_ms": round((time.perf_counter() - started) * 1000, 1),
            }
        )
    store.close()
    return out


ORIGINAL_SCRIPT = """
import json, statistics, sys, time
from OpenOrchestrator.database import db_util
url, queue, term, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
db_util.connect(url)
def median(work):
    times = []
    for _ in range(runs):
        start = time.perf_counter(); work(); times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)
print(json.dumps({
    "get_queue_count, every queue": median(db_util.get_queue_count),
    "a page of the big queue with its total": median(
        lambda: db_util.get_queue_elements(queue, include_count=True)),
    "a page of the big queue searched": median(
        lambda: db_util.get_queue_elements(queue, search_term=term, include_count=True)),
}))
"""


def original(url: str, runs: int) -> dict[str, Any]:
    from support.original import clean_env, original_venv

    venv = original_venv()
    result = subprocess.run(
        [str(venv.python), "-c", ORIGINAL_SCRIPT, url, BIG, TERM, str(runs)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=3600,
    )
    if result.returncode != 0:
        return {"error": result.stderr[-1000:]}
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


#: The schema states the write side compares: "before" (the previous revision's: no
#: triggers, no search index), "counts" (the count triggers only), "after" (both), and
#: "rowwise" (the count triggers, with SQLite's large bulk creates counted row by row by
#: the trigger, as before store/queues/bulk_triggers.py: the A/B of that change).
MODES = ("after", "before", "counts")

#: The search index entries of the "after" bulk create, made afterwards as the
#: watchdog's lease holder makes them (store/queues/search.py).
INDEXED_LATER = "indexing that bulk create's search documents later (ms)"
ALL_MODES = (*MODES, "rowwise")


def _set_objects(engine: Engine, mode: str) -> None:
    """Put the database in `mode` (see ALL_MODES)."""
    dialect = engine.dialect.name
    bulk_triggers.ROW_TRIGGERS_ABOVE = 10**12 if mode == "rowwise" else ROW_TRIGGERS_ABOVE
    with engine.begin() as connection:
        for statement in queue_counts.drop_ddl(dialect):
            connection.exec_driver_sql(statement)
        search.uninstall(connection)
        if mode in ("after", "counts", "rowwise"):
            for statement in queue_counts.trigger_ddl(dialect):
                connection.exec_driver_sql(statement)
        if mode == "after":
            search.install(connection)


def worker(url: str, queue: str, start: str, ready: str) -> None:
    """One claimer: claim, mark DONE, until the queue is empty; prints how many."""
    from openorch.database import QueueStatus

    store = Store(url)
    store.ping()
    Path(ready).touch()
    while not Path(start).exists():
        time.sleep(0.002)
    claimed = 0
    while (element := store.get_next_queue_element(queue)) is not None:
        store.set_queue_element_status(element.id, QueueStatus.DONE)
        claimed += 1
    print(claimed)
    store.close()


def drain(url: str, processes: int, size: int, queue: str) -> float:
    """Elements per second for `processes` processes draining one queue, timed from the
    moment all of them are connected."""
    store = Store(url)
    store.bulk_create_queue_elements(queue, [f"r{i}" for i in range(size)], [None] * size)
    store.close()
    folder = Path(tempfile.mkdtemp())
    start = folder / "start"
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", url, queue, str(start), str(folder / f"r{n}")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    deadline = time.monotonic() + 300
    while sum(1 for path in folder.glob("r*")) < processes:
        if time.monotonic() > deadline:
            raise RuntimeError("workers never got ready")
        time.sleep(0.05)
    began = time.perf_counter()
    start.touch()
    outputs = [process.communicate(timeout=900) for process in workers]
    elapsed = time.perf_counter() - began
    claimed = sum(int(out.strip() or 0) for out, _ in outputs)
    errors = [
        err[-300:] for process, (_, err) in zip(workers, outputs, strict=True) if process.returncode
    ]
    if errors or claimed != size:
        raise RuntimeError(f"drain failed: {claimed} of {size}; {errors[:2]}")
    return claimed / elapsed


def writes(
    url: str,
    rounds: int,
    drain_size: int,
    bulk_size: int,
    modes: tuple[str, ...] = MODES,
    drains: bool = True,
) -> list[dict[str, Any]]:
    engine = build_engine(url)
    migrate.upgrade(engine)
    store = Store(engine)
    references = [f"r{i}" for i in range(bulk_size)]
    data = [f'{{"invoice": {i}, "amount": 100}}' for i in range(bulk_size)]
    results: dict[str, dict[str, list[float]]] = {}
    serial = iter(range(1_000_000))
    bulk_name = f"bulk_create_queue_elements, {bulk_size:,} elements (ms)"
    loads: list[list[float]] = []
    for number in range(rounds):
        loads.append(load_average())
        # Each round starts with another state, so none always follows the same one
        # (the fixed order "after, before, counts" measured counts 25-35 % slower than
        # "after", which has the count triggers too: a position, not a schema).
        for mode in modes[number % len(modes) :] + modes[: number % len(modes)]:
            _set_objects(engine, mode)
            store._search_checked = None  # the schema just changed under the Store
            started = time.perf_counter()
            store.bulk_create_queue_elements(f"bulk{next(serial)}", references, data)
            bulk = (time.perf_counter() - started) * 1000
            results.setdefault(bulk_name, {}).setdefault(mode, []).append(bulk)
            if mode == "after" and store.indexes_in_background():
                # The work a bulk create no longer does itself: the lease holder's later.
                started = time.perf_counter()
                while store.index_search_backlog(seconds=3600):
                    pass
                later = (time.perf_counter() - started) * 1000
                results.setdefault(INDEXED_LATER, {}).setdefault(mode, []).append(later)
            if engine.dialect.name == "postgresql" and drains:
                for processes in (8, 32):
                    rate = drain(url, processes, drain_size, f"drain{next(serial)}")
                    results.setdefault(
                        f"{processes} processes draining one queue (elements/s)", {}
                    ).setdefault(mode, []).append(rate)
            print(json.dumps(results), file=sys.stderr)
    _set_objects(engine, "after")
    store.close()
    engine.dispose()
    out = []
    for name, measured in results.items():
        if name == INDEXED_LATER:
            out.append(
                {
                    "figure": name,
                    "after": round(statistics.median(measured["after"]), 1),
                    "all_after": [round(x, 1) for x in measured["after"]],
                }
            )
            continue
        before = statistics.median(measured["before"])
        row: dict[str, Any] = {"figure": name, "target": "≤ 10 % slower", "loads": loads}
        for mode in modes:
            value = statistics.median(measured[mode])
            slower = (before / value - 1) if "/s" in name else (value / before - 1)
            row[mode] = round(value, 1)
            row[f"all_{mode}"] = [round(x, 1) for x in measured[mode]]
            if mode != "before":
                row[f"{mode}_slower_percent"] = round(slower * 100, 1)
        out.append(row)
    return out


def load_average() -> list[float]:
    """The machine's load average (1, 5, 15 min), recorded beside every figure."""
    return [round(x, 2) for x in os.getloadavg()]


def _kept_url(backend: str, pg_server: str | None, keep: Path, elements: int) -> str:
    """The kept database for `elements` (created empty when missing)."""
    if backend == "sqlite":
        return f"sqlite:///{keep / f'counts-{elements}.db'}"
    import sqlalchemy as sa

    assert pg_server is not None
    name = f"counts_{elements}"
    server = sa.make_url(pg_server)
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        found = connection.exec_driver_sql(
            "SELECT 1 FROM pg_database WHERE datname = %(name)s", {"name": name}
        ).scalar()
        if not found:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def filled_database(
    backend: str, pg_server: str | None, folder: Path, args: argparse.Namespace
) -> tuple[str, dict[str, Any]]:
    """A database filled with `args.elements` elements and upgraded to head. With
    `--keep DIR` it is kept (SQLite: a file in DIR; PostgreSQL: database counts_N on the
    server) and a later run reuses it: filling 10,000,000 takes long (run the fill under
    `nice`, measure un-niced)."""
    done: Path | None = None
    if args.keep:
        keep = Path(args.keep)
        keep.mkdir(parents=True, exist_ok=True)
        url = _kept_url(backend, pg_server, keep, args.elements)
        done = keep / f"counts-{backend}-{args.elements}.json"
        if done.exists():
            print(f"[counts bench] {backend}: reusing {done}", file=sys.stderr)
            engine = build_engine(url)
            migrate.upgrade(engine)  # a kept database made before a later migration
            engine.dispose()
            return url, dict(json.loads(done.read_text()))
    else:
        url = fresh_database(backend, pg_server, folder)
    engine = build_engine(url)
    migrate.upgrade(engine, BEFORE_COUNTS)
    print(f"[counts bench] {backend}: filling {args.elements:,}", file=sys.stderr)
    filled: dict[str, Any] = {}
    started = time.perf_counter()
    populate(engine, args.elements)
    filled["fill_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    migrate.upgrade(engine)
    filled["upgrade_seconds"] = round(time.perf_counter() - started, 1)
    filled["fill_load_average"] = load_average()
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()
    if done is not None:
        done.write_text(json.dumps(filled))
    return url, filled


def make_search_index(url: str) -> float:
    """SQLite's opt-in FTS5 trigram index (`openorch search-index`), made once; seconds."""
    store = Store(url)
    try:
        with store.engine.connect() as connection:
            made = search.search_indexed(connection)  # and of this revision's layout
        if made:
            print("[counts bench] sqlite: the search index exists", file=sys.stderr)
            return 0.0
        print("[counts bench] sqlite: making the search index", file=sys.stderr)
        started = time.perf_counter()
        store.rebuild_search_index()
        return round(time.perf_counter() - started, 1)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--elements", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--original", action="store_true")
    parser.add_argument("--floor-runs", type=int, help="runs of the floors (default: --runs)")
    parser.add_argument("--terms", default=TERM, help="search terms, comma-separated")
    parser.add_argument("--no-reads", action="store_true")
    parser.add_argument("--no-writes", action="store_true")
    parser.add_argument("--no-drains", action="store_true", help="write side: bulk creates only")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds of the write side")
    parser.add_argument("--drain-size", type=int, default=3000)
    parser.add_argument("--pg-url", help="an existing empty PostgreSQL database (server URL)")
    parser.add_argument("--bulk-size", type=int, default=100_000)
    parser.add_argument(
        "--modes", default=",".join(MODES), help=f"write-side states, of {', '.join(ALL_MODES)}"
    )
    parser.add_argument("--keep", help="keep (and reuse) the filled database in this folder")
    parser.add_argument("--fill-only", action="store_true", help="fill (with --keep), no reads")
    parser.add_argument(
        "--search-index",
        action="store_true",
        help="SQLite: make the opt-in FTS5 search index (timed) before the reads",
    )
    parser.add_argument(
        "--pending",
        type=int,
        default=0,
        help="then search again while this many new elements wait for the indexer",
    )
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    folder = Path(tempfile.mkdtemp(prefix="openorch-counts-"))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report: dict[str, Any] = {"elements": args.elements, "queues": QUEUES, "term": TERM}
    cluster = None
    try:
        pg_server = args.pg_url
        if "postgresql" in backends and pg_server is None:
            from support.pgcluster import PgCluster, find_pg_bin

            pg_bin = find_pg_bin()
            if pg_bin is None:
                raise SystemExit("PostgreSQL server binaries not found.")
            cluster = PgCluster(pg_bin).start()
            pg_server = cluster.server_url
        for backend in backends:
            section: dict[str, Any] = {}
            report[backend] = section
            if not args.no_reads:
                url, filled = filled_database(backend, pg_server, folder, args)
                section.update(filled)
                if args.search_index and backend == "sqlite":
                    section["search_index_seconds"] = make_search_index(url)
                if args.fill_only:
                    continue
                print(f"[counts bench] {backend}: reads", file=sys.stderr)
                section["load_average"] = load_average()
                section["reads"] = reads(
                    url, args.runs, args.floor_runs, tuple(args.terms.split(","))
                )
                section["load_average_after"] = load_average()
                if args.pending:
                    section["pending_reads"] = pending_reads(
                        url, args.runs, tuple(args.terms.split(",")), args.pending
                    )
                if args.original:
                    print(f"[counts bench] {backend}: the original", file=sys.stderr)
                    section["original_ms"] = original(url, max(3, args.runs // 3))
                print(json.dumps(report, indent=2), file=sys.stderr)
            if not args.no_writes:
                print(f"[counts bench] {backend}: writes", file=sys.stderr)
                section["writes"] = writes(
                    fresh_database(backend, pg_server, folder),
                    args.rounds,
                    args.drain_size,
                    args.bulk_size,
                    tuple(args.modes.split(",")),
                    drains=not args.no_drains,
                )
    finally:
        if cluster is not None:
            cluster.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

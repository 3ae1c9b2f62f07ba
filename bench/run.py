"""openorch benchmarks: `python bench/run.py [--backend sqlite|postgresql|both] [--pg-url URL]`.

Measures the hot paths docs/benchmarks.md lists, on SQLite and PostgreSQL, and prints JSON.
Each figure is the median of several runs, printed beside its floor: the same work done with
hand-written SQL on the same database in the same run. Without --pg-url a throwaway
PostgreSQL cluster is started (as the tests do) and removed afterwards.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "tests"), str(ROOT / "src")]

import floors  # noqa: E402
from populate import populate_logs, populate_queue  # noqa: E402

from openorch import migrate  # noqa: E402
from openorch.store import Store, build_engine  # noqa: E402

TARGETS_MS = {
    "bulk_create_100k": 500,
    "logs_newest": 5,
    "logs_by_process": 5,
    "logs_by_level": 5,
    "distinct_process_names": 20,
    "queue_count": 60,
    "queue_page_with_count": 15,
    "claim_next_in_1m": 2,
}


def median_ms(work: Callable[[], object], runs: int) -> float:
    """Median wall time of `work` in milliseconds, after one warm-up run."""
    work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)


def figure(name: str, ours: float, floor: float, unit: str = "ms") -> dict[str, Any]:
    target = TARGETS_MS.get(name)
    result: dict[str, Any] = {
        "figure": name,
        "ours": ours,
        "floor": floor,
        "unit": unit,
        "ratio": round(ours / floor, 2) if floor else None,
    }
    if target is not None:
        result["target"] = target
        result["meets_target"] = ours <= target
    return result


def fresh_database(backend: str, pg_server: str | None, folder: Path) -> str:
    if backend == "sqlite":
        path = folder / f"bench-{time.monotonic_ns()}.db"
        return f"sqlite:///{path}"
    from support.pgcluster import create_database

    assert pg_server is not None
    return create_database(pg_server, prefix="bench")


def prepared(url: str) -> Store:
    engine = build_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return Store(url)


def bench_drain(url: str, processes: int, size: int) -> list[dict[str, Any]]:
    """N processes draining one queue: ours (SDK) and the hand-written floor."""
    results = []
    rates = {}
    for mode in ("ours", "floor"):
        store = Store(url)
        queue = f"drain_{mode}"
        store.bulk_create_queue_elements(queue, [f"r{i}" for i in range(size)], [None] * size)
        store.close()
        start = Path(tempfile.mkdtemp()) / "start"
        workers = [
            subprocess.Popen(
                [sys.executable, str(HERE / "drain.py"), mode, url, queue, str(start)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        time.sleep(1.5)  # let every worker connect before the start signal
        started = time.perf_counter()
        start.touch()
        outputs = [worker.communicate(timeout=600) for worker in workers]
        elapsed = time.perf_counter() - started
        claimed = [line for out, _ in outputs for line in out.splitlines() if line]
        errors = sum(1 for worker in workers if worker.returncode != 0)
        rates[mode] = len(claimed) / elapsed
        if mode == "ours":
            duplicates = sum(count - 1 for count in Counter(claimed).values() if count > 1)
            results.append(
                {
                    "figure": "drain",
                    "processes": processes,
                    "elements": size,
                    "claimed": len(claimed),
                    "duplicates": duplicates,
                    "errors": errors,
                    "stderr": [err[-500:] for _, err in outputs if err.strip()][:2],
                }
            )
    results[0].update(
        {
            "ours_elements_per_s": round(rates["ours"]),
            "floor_elements_per_s": round(rates["floor"]),
            "ratio": round(rates["floor"] / rates["ours"], 2),
            "target_elements_per_s": 1000 if "postgresql" in url else None,
        }
    )
    return results


def bench_bulk(url: str, runs: int) -> dict[str, Any]:
    store = Store(url)
    engine = store.engine
    count = 100_000
    references = [f"r{i}" for i in range(count)]
    data = ["{}"] * count
    round_number = iter(range(1000))
    ours = median_ms(
        lambda: store.bulk_create_queue_elements(f"bulk{next(round_number)}", references, data),
        runs,
    )
    floor = median_ms(lambda: floors.bulk_insert(engine, f"floor{next(round_number)}", count), runs)
    store.close()
    return figure("bulk_create_100k", ours, floor)


def bench_reads(url: str, runs: int) -> list[dict[str, Any]]:
    store = Store(url)
    engine = store.engine
    populate_logs(engine, 1_000_000)
    populate_queue(engine, "big", 1_000_000)
    populate_queue(engine, "page", 100_000, mixed=False)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("COMMIT")
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        raw.driver_connection.autocommit = True
        raw.driver_connection.execute("VACUUM ANALYZE")
        raw.close()
    sql = floors.SQL
    results = [
        figure(
            "logs_newest",
            median_ms(lambda: store.get_logs(0, 100), runs),
            median_ms(lambda: floors.run_sql(engine, sql["logs_newest"]), runs),
        ),
        figure(
            "logs_by_process",
            median_ms(lambda: store.get_logs(0, 100, process_name="process_7"), runs),
            median_ms(lambda: floors.run_sql(engine, sql["logs_by_process"]), runs),
        ),
        figure(
            "logs_by_level",
            median_ms(lambda: store.get_logs(0, 100, log_level="ERROR"), runs),
            median_ms(lambda: floors.run_sql(engine, sql["logs_by_level"]), runs),
        ),
        figure(
            "distinct_process_names",
            median_ms(store.get_unique_log_process_names, runs),
            median_ms(lambda: floors.run_sql(engine, sql["distinct_process_names"]), runs),
        ),
        figure(
            "queue_count",
            median_ms(store.get_queue_count, runs),
            median_ms(lambda: floors.run_sql(engine, sql["queue_count"]), runs),
        ),
        figure(
            "queue_page_with_count",
            median_ms(
                lambda: store.get_queue_elements("page", limit=100, include_count=True), runs
            ),
            median_ms(
                lambda: floors.run_sql(engine, sql["queue_page"], sql["queue_page_count"]), runs
            ),
        ),
        figure(
            "claim_next_in_1m",
            median_ms(lambda: store.get_next_queue_element("big"), runs),
            median_ms(lambda: floors.claim_one(engine, "big"), runs),
        ),
    ]
    store.close()
    return results


def bench_cold_start(url: str, runs: int) -> list[dict[str, Any]]:
    """`import openorch`, and constructor + one log_info, in a fresh interpreter."""

    def python_ms(code: str) -> float:
        def once() -> None:
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)

        return median_ms(once, runs)

    from openorch.crypto import generate_key

    key = generate_key().decode()
    bare = python_ms("pass")
    import_ms = python_ms("from openorch import OrchestratorConnection")
    connect_ms = python_ms(
        "from openorch import OrchestratorConnection as C; "
        f"C('bench', {url!r}, {key!r}, '').log_info('cold start')"
    )
    modules = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from openorch import OrchestratorConnection; "
            "print('nicegui' in sys.modules, 'tkinter' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        {
            **figure("sdk_import", import_ms, bare),
            "target": 300,
            "meets_target": import_ms <= 300,
            "imports_nicegui_or_tk": "True" in modules,
        },
        figure("sdk_connect_and_log_info", connect_ms, bare),
    ]


def bench_render() -> dict[str, Any]:
    """The Orchestrator's server render times, measured by its speed test (SQLite)."""
    print("[bench] Orchestrator render (1,000 triggers; 1,000,000-element queue)", file=sys.stderr)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            str(ROOT / "tests" / "orchestrator" / "test_render_speed.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    line = next((x for x in result.stdout.splitlines() if "[orchestrator render]" in x), "")
    numbers = [float(part.split(" ms")[0].split()[-1]) for part in line.split(";") if " ms" in part]
    if len(numbers) != 2:
        return {"figure": "orchestrator_render", "error": result.stdout[-1000:]}
    return {
        "figure": "orchestrator_render",
        "unit": "ms",
        "backend": "sqlite",
        "triggers_tab_1000": numbers[0],
        "queue_first_page_1m": numbers[1],
        "target": 200,
        "meets_target": max(numbers) <= 200,
    }


def run_backend(backend: str, pg_server: str | None, runs: int, folder: Path) -> dict[str, Any]:
    print(f"[bench] {backend}: drain", file=sys.stderr)
    url = fresh_database(backend, pg_server, folder)
    prepared(url).close()
    processes, size = (8, 5000) if backend == "postgresql" else (4, 5000)
    out: dict[str, Any] = {"drain": bench_drain(url, processes, size)}
    print(f"[bench] {backend}: bulk create", file=sys.stderr)
    url = fresh_database(backend, pg_server, folder)
    prepared(url).close()
    out["bulk"] = bench_bulk(url, max(3, runs // 3))
    print(f"[bench] {backend}: read paths at 1,000,000 rows (populating...)", file=sys.stderr)
    url = fresh_database(backend, pg_server, folder)
    prepared(url).close()
    out["reads"] = bench_reads(url, runs)
    print(f"[bench] {backend}: SDK cold start", file=sys.stderr)
    out["cold_start"] = bench_cold_start(url, 5)
    from scheduler_bench import bench_dispatch, bench_poll

    from openorch.crypto import generate_key

    key = generate_key().decode()
    print(f"[bench] {backend}: Scheduler poll and dispatch latency", file=sys.stderr)
    url = fresh_database(backend, pg_server, folder)
    prepared(url).close()
    out["scheduler_poll"] = bench_poll(url, key, runs)
    url = fresh_database(backend, pg_server, folder)
    prepared(url).close()
    out["dispatch"] = bench_dispatch(url, key)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (default: throwaway cluster)")
    parser.add_argument("--runs", type=int, default=9, help="runs per figure (median)")
    parser.add_argument("--skip-ui", action="store_true", help="skip the Orchestrator render")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="openorch-bench-"))
    report: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
    }
    cluster = None
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    try:
        pg_server = args.pg_url
        if "postgresql" in backends and pg_server is None:
            from support.pgcluster import PgCluster, find_pg_bin

            pg_bin = find_pg_bin()
            if pg_bin is None:
                raise SystemExit("PostgreSQL server binaries not found; pass --pg-url.")
            cluster = PgCluster(pg_bin).start()
            pg_server = cluster.server_url
        for backend in backends:
            report[backend] = run_backend(backend, pg_server, args.runs, folder)
        if not args.skip_ui:
            report["orchestrator_render"] = bench_render()
    finally:
        if cluster is not None:
            cluster.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

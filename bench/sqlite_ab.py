"""SQLite's write paths before and after a change: `python bench/sqlite_ab.py`.

Measures, on a fresh SQLite file each, the median of: claiming the next element in a
1,000,000-element table and one Scheduler poll over 1,000 triggers (wall and CPU time),
and 4 processes draining a queue through the SDK (claim + DONE). Unlike run.py it
leaves `sys.path`'s openorch alone: run it with PYTHONPATH pointing at the checkout to
measure, so the same script compares two checkouts
(`PYTHONPATH=/tmp/before/src python bench/sqlite_ab.py`). Prints JSON.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

from populate import populate_queue  # noqa: E402
from scheduler_bench import bench_poll  # noqa: E402

import openorch  # noqa: E402
from openorch import migrate  # noqa: E402
from openorch.crypto import generate_key  # noqa: E402
from openorch.scheduler.config import SchedulerSettings  # noqa: E402
from openorch.scheduler.engine import SchedulerEngine  # noqa: E402
from openorch.store import Store, build_engine  # noqa: E402


def median_ms(
    work: Callable[[], object], runs: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Median time of `work` in milliseconds by `clock`, after one warm-up run. CPU time
    (`time.process_time`; SQLite runs inside this process) is what a loaded machine
    disturbs least."""
    work()
    times = []
    for _ in range(runs):
        started = clock()
        work()
        times.append((clock() - started) * 1000)
    return round(statistics.median(times), 3)


def fresh(folder: Path) -> str:
    url = f"sqlite:///{folder / f'ab-{time.monotonic_ns()}.db'}"
    engine = build_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def drain(url: str, processes: int, size: int) -> float:
    """Elements per second, `processes` SDK processes draining `size` elements."""
    store = Store(url)
    store.bulk_create_queue_elements("drain", [f"r{i}" for i in range(size)], [None] * size)
    store.close()
    start = Path(tempfile.mkdtemp()) / "start"
    workers = [
        subprocess.Popen(
            [sys.executable, str(HERE / "drain.py"), "ours", url, "drain", str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    time.sleep(1.5)
    started = time.perf_counter()
    start.touch()
    claimed = sum(len(worker.communicate(timeout=600)[0].split()) for worker in workers)
    assert claimed == size, f"claimed {claimed} of {size}"
    return round(size / (time.perf_counter() - started))


def poll_cpu_ms(url: str, key: str, folder: Path, runs: int) -> float:
    """CPU time of one poll over the 1,000 triggers `bench_poll` left in `url`."""
    store = Store(url, crypto_key=key)
    settings = SchedulerSettings(
        conn_string=url,
        crypto_key=key,
        name="bench",
        clone_dir=folder / "clones",
        log_dir=folder / "logs",
    )
    engine = SchedulerEngine(settings, store, lambda _line: None)
    try:
        return median_ms(engine.poll, runs, time.process_time)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--drain", type=int, default=3000, help="elements to drain")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="openorch-ab-"))
    out: dict[str, Any] = {"openorch": str(Path(openorch.__file__).parent)}
    url = fresh(folder)
    store = Store(url)
    populate_queue(store.engine, "big", 1_000_000)
    claims = max(args.runs * 5, 45)
    out["claim_next_in_1m_ms"] = median_ms(lambda: store.get_next_queue_element("big"), claims)
    out["claim_next_in_1m_cpu_ms"] = median_ms(
        lambda: store.get_next_queue_element("big"), claims, time.process_time
    )
    store.close()
    url, key = fresh(folder), generate_key().decode()
    poll = bench_poll(url, key, args.runs)
    out["scheduler_poll_ms"] = poll.get("ours", poll)
    out["scheduler_poll_cpu_ms"] = poll_cpu_ms(url, key, folder, args.runs)
    out["drain_4_processes_per_s"] = drain(fresh(folder), 4, args.drain)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

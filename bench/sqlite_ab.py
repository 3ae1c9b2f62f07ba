"""SQLite's write paths before and after a change: `python bench/sqlite_ab.py`.

Measures, on a fresh SQLite file each, the median of: claiming the next element in a
1,000,000-element table, one Scheduler poll over 1,000 triggers, and N processes
draining a queue through the SDK (claim + DONE). Unlike run.py it leaves `sys.path`'s
openorch alone: run it with PYTHONPATH pointing at the checkout to measure, so the same
script compares two (`PYTHONPATH=/tmp/before/src python bench/sqlite_ab.py`). Prints JSON.
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
from openorch.store import Store, build_engine  # noqa: E402


def median_ms(work: Callable[[], object], runs: int) -> float:
    """Median wall time of `work` in milliseconds, after one warm-up run."""
    work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
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
    out["claim_next_in_1m_ms"] = median_ms(
        lambda: store.get_next_queue_element("big"), max(args.runs * 5, 45)
    )
    store.close()
    poll = bench_poll(fresh(folder), generate_key().decode(), args.runs)
    out["scheduler_poll_ms"] = poll.get("ours", poll)
    out["drain_4_processes_per_s"] = drain(fresh(folder), 4, args.drain)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

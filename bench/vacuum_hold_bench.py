"""Claims while a long transaction holds back vacuum (issue 31), PostgreSQL:
`python bench/vacuum_hold_bench.py [--processes 8] [--seconds 60] [--rounds 1] [--save]`.

N processes claim from one queue and mark each element DONE, without pause, for
alternating phases: **normal**, then **held** — another connection has run
`BEGIN; SELECT txid_current();` and stays idle in that transaction for the whole phase,
so no dead row newer than it can be removed (not by autovacuum, not by an index scan's
"killed tuple" hints) — then normal again. Every claim + DONE leaves dead versions
behind: the element's row and index entries (a status change is no HOT update) and, with
the maintained counts, the compacted `Queue_Counts` rows. The lease holder's compaction
(`compact_queue_counts`) runs every 10 s as the watchdog runs it.

Prints the claim rate of each phase and held / normal (the rate of the normal phases
around it, averaged); the issue's target is ≥ 0.70. Also the machine's load average.
With `--save`, writes `bench/vacuum-hold-results-latest.json`.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "src")]

import sqlalchemy as sa  # noqa: E402

from openorch import migrate  # noqa: E402
from openorch.store import Store, build_engine  # noqa: E402

QUEUE = "work"
TARGET = 0.70


def worker(url: str, stop: str, ready: str, out: str) -> None:
    """Claim + DONE until `stop` exists; writes the wall time of every DONE to `out`."""
    from openorch.database import QueueStatus

    store = Store(url)
    store.ping()
    Path(ready).touch()
    done: list[float] = []
    while not Path(stop).exists():
        element = store.get_next_queue_element(QUEUE)
        if element is None:
            time.sleep(0.05)
            continue
        store.set_queue_element_status(element.id, QueueStatus.DONE)
        done.append(time.time())
    Path(out).write_text(json.dumps(done))
    store.close()


def _holder(url: str, seconds: float, started: threading.Event) -> None:
    """An idle transaction that holds the xmin horizon back for `seconds`."""
    engine = sa.create_engine(sa.make_url(url))
    with engine.connect() as connection:
        connection.exec_driver_sql("BEGIN")
        connection.exec_driver_sql("SELECT txid_current()").scalar()
        started.set()
        time.sleep(seconds)
        connection.exec_driver_sql("ROLLBACK")
    engine.dispose()


def _compactor(url: str, stop: threading.Event) -> None:
    """What the watchdog's lease holder does every tick."""
    store = Store(url)
    while not stop.wait(10.0):
        store.compact_queue_counts()
    store.close()


def _dead_tuples(url: str) -> dict[str, int]:
    engine = sa.create_engine(sa.make_url(url))
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT relname, n_dead_tup FROM pg_stat_user_tables "
            "WHERE relname IN ('Queues', 'Queue_Counts')"
        ).all()
    engine.dispose()
    return {name: int(dead) for name, dead in rows}


def fill_queue(url: str, elements: int) -> None:
    """A database at head with `elements` NEW elements in QUEUE."""
    engine = build_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    store = Store(url)
    for start in range(0, elements, 100_000):
        size = min(100_000, elements - start)
        store.bulk_create_queue_elements(
            QUEUE, [f"r{n}" for n in range(start, start + size)], [None] * size
        )
    store.close()


class ClaimerFleet:
    """`processes` claimer processes (`worker`) and the lease holder's compaction, from
    entering (all connected) to leaving; then `done_times` holds the wall time of every
    DONE, sorted. Shared with claim_triggers_ab.py."""

    def __init__(self, url: str, processes: int) -> None:
        self.url = url
        self.processes = processes
        self.folder = Path(tempfile.mkdtemp(prefix="openorch-claimers-"))
        self.done_times: list[float] = []
        self._workers: list[subprocess.Popen[str]] = []
        self._compacting = threading.Event()
        self._compactor = threading.Thread(
            target=_compactor, args=(url, self._compacting), daemon=True
        )

    def __enter__(self) -> "ClaimerFleet":
        stop, folder = self.folder / "stop", self.folder
        self._workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    self.url,
                    str(stop),
                    str(folder / f"ready{n}"),
                    str(folder / f"out{n}"),
                ],
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(self.processes)
        ]
        deadline = time.monotonic() + 120
        while len(list(folder.glob("ready*"))) < self.processes:
            if time.monotonic() > deadline:
                self._kill()
                raise RuntimeError("workers never got ready")
            time.sleep(0.05)
        self._compactor.start()
        return self

    def _kill(self) -> None:
        for process in self._workers:
            process.kill()

    def __exit__(self, *failure: object) -> None:
        (self.folder / "stop").touch()
        if self._compactor.is_alive():
            self._compacting.set()
            self._compactor.join()
        if failure[0] is not None:
            self._kill()
            return
        for process in self._workers:
            _out, err = process.communicate(timeout=300)
            if process.returncode:
                raise RuntimeError(f"a worker failed: {err[-500:]}")
        self.done_times = sorted(
            t
            for n in range(self.processes)
            for t in json.loads((self.folder / f"out{n}").read_text())
        )


def count_claims(phases: list[dict[str, Any]], done_times: list[float]) -> None:
    """Each phase's claims and claims per second, from its `began` and `ended`."""
    for phase in phases:
        count = sum(1 for t in done_times if phase["began"] <= t < phase["ended"])
        phase["claims"] = count
        phase["claims_per_second"] = round(count / (phase["ended"] - phase["began"]), 1)


def _phases(url: str, seconds: float, rounds: int) -> list[dict[str, Any]]:
    """normal, then `rounds` times held and normal, each `seconds` long."""
    phases: list[dict[str, Any]] = []
    kinds = ["normal"] + ["held", "normal"] * rounds
    for kind in kinds:
        holder = None
        if kind == "held":
            held = threading.Event()
            holder = threading.Thread(target=_holder, args=(url, seconds, held), daemon=True)
            holder.start()
            held.wait(30)
        began = time.time()
        time.sleep(seconds)
        ended = time.time()
        if holder is not None:
            holder.join()
        phases.append(
            {
                "kind": kind,
                "began": began,
                "ended": ended,
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "dead_tuples_at_end": _dead_tuples(url),
            }
        )
        print(f"[vacuum hold] {kind} phase done", file=sys.stderr)
    return phases


def run(url: str, processes: int, seconds: float, rounds: int, elements: int) -> dict[str, Any]:
    fill_queue(url, elements)
    with ClaimerFleet(url, processes) as fleet:
        phases = _phases(url, seconds, rounds)
    count_claims(phases, fleet.done_times)
    ratios = []
    for index, phase in enumerate(phases):
        if phase["kind"] == "held":
            around = [
                phases[index - 1]["claims_per_second"],
                phases[index + 1]["claims_per_second"],
            ]
            phase["ratio_to_normal_around"] = round(
                phase["claims_per_second"] / statistics.mean(around), 3
            )
            ratios.append(phase["ratio_to_normal_around"])
    normal = [p["claims_per_second"] for p in phases if p["kind"] == "normal"]
    held_rates = [p["claims_per_second"] for p in phases if p["kind"] == "held"]
    return {
        "processes": processes,
        "phase_seconds": seconds,
        "elements": elements,
        "phases": phases,
        "normal_claims_per_second": normal,
        "held_claims_per_second": held_rates,
        "ratios": ratios,
        "ratio_median": statistics.median(ratios),
        "target": f"held / normal ≥ {TARGET}",
        "meets_target": statistics.median(ratios) >= TARGET,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=1, help="held phases (each between normals)")
    parser.add_argument("--elements", type=int, default=300_000)
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (default: throwaway cluster)")
    parser.add_argument("--save", action="store_true")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    from support.pgcluster import create_database, server_or_throwaway

    with server_or_throwaway(args.pg_url) as server:
        url = create_database(server, prefix="vacuumhold")
        report = run(url, args.processes, args.seconds, args.rounds, args.elements)
    text = json.dumps(report, indent=2)
    print(text)
    if args.save:
        (HERE / "vacuum-hold-results-latest.json").write_text(text + "\n")


if __name__ == "__main__":
    main()

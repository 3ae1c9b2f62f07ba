"""What the count triggers cost a fleet's claims, PostgreSQL (issue 31):
`python bench/claim_triggers_ab.py [--processes 8,32] [--seconds 15] [--pairs 6] [--save]`.

The drains of `counts_bench.py` start new processes on a fresh 3,000-element queue per
schema state and last a few seconds: single rounds of one state spread 1.5-2x on this
machine, more than the effect to measure. Here the same N processes claim from one large
queue and mark each element DONE without pause, and the schema state is switched under
them every `--seconds`: **before** (no count triggers) and **counts** (the count
triggers of store/queues/counts.py) in turn. A "counts" phase is compared with the mean
of the "before" phases on either side of it, so a load that drifts weighs on both; the
median of those ratios is the figure (the first phase is a warm-up and not counted).
The search triggers are left out: a claim changes no text, so none of them fires (and
re-making the trigram index per phase would be the benchmark's own load). The lease
holder's compaction of `Queue_Counts` runs every 10 s as the watchdog runs it.

Switching is DDL (DROP/CREATE TRIGGER), which waits for the claims in flight: a few
milliseconds at each boundary, in every state alike. Prints JSON; `--save` writes
`bench/claim-triggers-ab-latest.json`.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests"), str(HERE.parent / "src")]

from vacuum_hold_bench import ClaimerFleet, count_claims, fill_queue  # noqa: E402

from openorch.store import build_engine  # noqa: E402
from openorch.store.queues import counts as queue_counts  # noqa: E402

TARGET = 0.10


def set_state(url: str, state: str) -> None:
    """Put the database's count triggers in `state` (one transaction)."""
    engine = build_engine(url)
    with engine.begin() as connection:
        for statement in queue_counts.drop_ddl("postgresql"):
            connection.exec_driver_sql(statement)
        if state == "counts":
            for statement in queue_counts.trigger_ddl("postgresql"):
                connection.exec_driver_sql(statement)
    engine.dispose()


def schedule(pairs: int) -> list[str]:
    """before, counts, before, ..., before: each "counts" phase between two "before"."""
    return ["before"] + ["counts", "before"] * pairs


def run(url: str, processes: int, seconds: float, pairs: int, elements: int) -> dict[str, Any]:
    fill_queue(url, elements)
    phases: list[dict[str, Any]] = []
    with ClaimerFleet(url, processes) as fleet:
        for state in ["warm-up", *schedule(pairs)]:
            set_state(url, "counts" if state == "warm-up" else state)
            began = time.time()
            time.sleep(seconds)
            phases.append({"state": state, "began": began, "ended": time.time()})
    set_state(url, "counts")
    count_claims(phases, fleet.done_times)
    slower: dict[str, list[float]] = {}
    for index, phase in enumerate(phases):
        if phase["state"] == "counts":
            around = statistics.mean(
                [phases[index - 1]["claims_per_second"], phases[index + 1]["claims_per_second"]]
            )
            ratio = around / phase["claims_per_second"] - 1
            phase["slower_than_before_around_percent"] = round(ratio * 100, 1)
            slower.setdefault(phase["state"], []).append(ratio * 100)
    return {
        "processes": processes,
        "phase_seconds": seconds,
        "phases": phases,
        "slower_percent_median": {s: round(statistics.median(v), 1) for s, v in slower.items()},
        "slower_percent_all": {s: [round(x, 1) for x in v] for s, v in slower.items()},
        "target": f"≤ {TARGET:.0%} slower than before",
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="8,32", help="comma-separated fleet sizes")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of a phase")
    parser.add_argument("--pairs", type=int, default=6, help="how many 'counts' phases")
    parser.add_argument("--elements", type=int, default=400_000)
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (default: throwaway cluster)")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    from support.pgcluster import create_database, server_or_throwaway

    reports = []
    with server_or_throwaway(args.pg_url) as server:
        for processes in (int(n) for n in args.processes.split(",")):
            url = create_database(server, prefix="triggersab")
            reports.append(run(url, processes, args.seconds, args.pairs, args.elements))
            print(json.dumps(reports[-1]["slower_percent_median"]), file=sys.stderr)
    text = json.dumps(reports, indent=2)
    print(text)
    if args.save:
        (HERE / "claim-triggers-ab-latest.json").write_text(text + "\n")


if __name__ == "__main__":
    main()

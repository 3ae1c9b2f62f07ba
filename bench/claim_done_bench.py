"""Claim + DONE, one process, through the SDK: `python bench/claim_done_bench.py [--elements N]`.

The happy path of a queue worker (issue 27 asked that recording an element's history
not slow it by more than 10 %). Creates N elements in a fresh SQLite database (and a
throwaway PostgreSQL with --postgresql URL), then times N claims each followed by
set_queue_element_status(DONE), and prints the median and mean of a pair in ms as JSON.
Run it with PYTHONPATH pointing at the checkout to measure.
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path


def bench(url: str, elements: int) -> dict[str, float]:
    from openorch.crypto import generate_key
    from openorch.database import QueueStatus
    from openorch.migrate import upgrade
    from openorch.sdk import OrchestratorConnection
    from openorch.store import build_engine

    engine = build_engine(url)
    upgrade(engine)
    engine.dispose()
    connection = OrchestratorConnection("bench", url, generate_key(), "")
    connection.bulk_create_queue_elements("q", [None] * elements, ["{}"] * elements)
    pairs = []
    while True:
        started = time.perf_counter()
        element = connection.get_next_queue_element("q")
        if element is None:
            break
        connection.set_queue_element_status(element.id, QueueStatus.DONE)
        pairs.append((time.perf_counter() - started) * 1000)
    connection.close()
    return {
        "claim_done_median_ms": round(statistics.median(pairs), 4),
        "claim_done_mean_ms": round(statistics.fmean(pairs), 4),
        "pairs": len(pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--elements", type=int, default=3000)
    parser.add_argument("--postgresql", default=None, help="a throwaway database's URL")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = bench(f"sqlite:///{Path(folder) / 'bench.db'}", args.elements)
    if args.postgresql:
        results["postgresql"] = bench(args.postgresql, args.elements)
    print(json.dumps(results))


if __name__ == "__main__":
    main()

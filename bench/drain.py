"""Worker process for the drain benchmark: `python bench/drain.py ours|floor URL QUEUE START`.

Waits for the START file, drains the queue (claim, then mark DONE) and prints one claimed
id per line. `ours` goes through the SDK; `floor` uses hand-written SQL.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def main() -> None:
    mode, url, queue_name, start = sys.argv[1:5]
    if mode == "ours":
        from openorch import OrchestratorConnection
        from openorch.crypto import generate_key
        from openorch.database import QueueStatus

        connection = OrchestratorConnection("bench", url, generate_key(), "")
        connection.store.ping()
        _wait(start)
        claimed = []
        while (element := connection.get_next_queue_element(queue_name)) is not None:
            connection.set_queue_element_status(element.id, QueueStatus.DONE)
            claimed.append(str(element.id))
        print("\n".join(claimed))
    else:
        from floors import raw_worker

        _wait(start)
        count = raw_worker(url, queue_name)
        print("\n".join(f"floor-{index}" for index in range(count)))


def _wait(start: str) -> None:
    while not Path(start).exists():
        time.sleep(0.002)


if __name__ == "__main__":
    main()

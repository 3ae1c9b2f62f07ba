"""A robot for the local-mode soak test, started by a Scheduler's queue trigger.

`process_args` is a JSON object: {"queue": name, "acks": folder, "batch": n}. It logs,
claims up to `batch` elements of the queue, logs each and marks it DONE. Each write is
written to its own acknowledgement file in `acks` only after the call returned: what the
program was told is saved, which the test then looks for in the database.
"""

import json
import os
import sys
import time
from pathlib import Path

from openorch import OrchestratorConnection
from openorch.database import QueueStatus


def main() -> int:
    oc = OrchestratorConnection.create_connection_from_args()
    args = json.loads(oc.process_arguments or "{}")
    name = f"robot-{os.getpid()}-{time.monotonic_ns()}"
    with (Path(args["acks"]) / f"{name}.txt").open("a", encoding="utf-8") as acks:

        def ack(kind: str, value: str) -> None:
            acks.write(f"{kind}\t{value}\n")
            acks.flush()

        message = f"{name} started"
        oc.log_info(message)
        ack("log", message)
        for _ in range(int(args.get("batch", 10))):
            element = oc.get_next_queue_element(args["queue"])
            if element is None:
                break
            message = f"{name} handles {element.reference}"
            oc.log_info(message)
            ack("log", message)
            oc.set_queue_element_status(element.id, QueueStatus.DONE, name)
            ack("done", str(element.reference))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One of many workers draining one queue through the SDK.

`process_args` is a JSON object: {"queue": name, "go": path}. The worker connects,
prints "ready", waits until the file `go` exists (so every worker starts claiming at
the same moment), then claims elements until the queue is empty and prints the ids it
claimed as one JSON list.
"""

import json
import os
import sys
import time

from OpenOrchestrator.database.queues import QueueStatus
from OpenOrchestrator.orchestrator_connection.connection import OrchestratorConnection


def main() -> int:
    oc = OrchestratorConnection.create_connection_from_args()
    args = json.loads(oc.process_arguments)
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(args["go"]):
        if time.monotonic() > deadline:
            return 3
        time.sleep(0.01)
    claimed: list[str] = []
    while (element := oc.get_next_queue_element(args["queue"])) is not None:
        claimed.append(str(element.id))
        oc.set_queue_element_status(element.id, QueueStatus.DONE, f"pid {os.getpid()}")
    print(json.dumps(claimed), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A queue trigger's process for the binding tests.

`process_args` is a JSON object: {"queue": name, "pidfile": path}. It claims one element
through the SDK. On the element's first attempt it writes "<pid> <element id>" to
`pidfile` and sleeps, to be killed mid-element; on a later attempt it finishes the
element (DONE) and exits 0. An empty queue prints "empty" and exits 0.
"""

import json
import os
import sys
import time
from pathlib import Path

from openorch.database import QueueStatus
from openorch.sdk.connection import OrchestratorConnection


def main() -> int:
    oc = OrchestratorConnection.create_connection_from_args()
    args = json.loads(oc.process_arguments)
    element = oc.get_next_queue_element(args["queue"])
    if element is None:
        print("empty", flush=True)
        return 0
    if not element.attempts:
        Path(args["pidfile"]).write_text(f"{os.getpid()} {element.id}")
        time.sleep(600)
        return 4
    oc.set_queue_element_status(element.id, QueueStatus.DONE, "finished on a later run")
    print(f"done {element.id}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

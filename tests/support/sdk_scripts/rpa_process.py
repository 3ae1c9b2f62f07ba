"""An RPA process written for the original OpenOrchestrator: only `OpenOrchestrator`
imports, started by the tests exactly as the Scheduler starts processes.

`process_args` is a JSON object: {"queue": name, "count": n}. The script prints one
JSON line with what it saw, for the test to check.
"""

import json
import sys

from OpenOrchestrator.database.queues import QueueStatus
from OpenOrchestrator.orchestrator_connection.connection import OrchestratorConnection


def main() -> int:
    oc = OrchestratorConnection.create_connection_from_args()
    oc.log_info(f"started with arguments {oc.process_arguments}")
    args = json.loads(oc.process_arguments)
    queue, count = args["queue"], args["count"]

    constant = oc.get_constant("greeting")
    credential = oc.get_credential("robot")
    oc.log_trace("read the constant and the credential")

    oc.bulk_create_queue_elements(
        queue,
        [f"ref-{i}" for i in range(count)],
        [json.dumps({"n": i}) for i in range(count)],
        created_by=oc.process_name,
    )
    done: list[str] = []
    while (element := oc.get_next_queue_element(queue)) is not None:
        n = json.loads(element.data)["n"]
        oc.set_queue_element_status(element.id, QueueStatus.DONE, f"handled {n}")
        done.append(element.reference)

    pausing_before = oc.is_trigger_pausing()
    oc.pause_my_trigger()
    pausing_after = oc.is_trigger_pausing()
    oc.log_error("finished (an ERROR line, to check the level)")
    print(
        json.dumps(
            {
                "process_name": oc.process_name,
                "process_arguments": oc.process_arguments,
                "trigger_id": str(oc.trigger_id) if oc.trigger_id else None,
                "job_id": str(oc.job_id) if oc.job_id else None,
                "constant": constant.value,
                "username": credential.username,
                "password": credential.password,
                "done": done,
                "pausing_before": pausing_before,
                "pausing_after": pausing_after,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

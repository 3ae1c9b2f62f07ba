"""A three-step pipeline process (first, second, third) for the real-process tests.

Started like any SDK process; `process_args` is a JSON object:
- queue: the queue to run over;
- journal: a file each step part appends one JSON line to when it starts and ends
  ({"pid", "element", "step", "part", "event", "t", "state"}), flushed at once;
- hang_marker: when given and the file does not exist, step "second" creates it and
  sleeps (to be killed mid-step) until `wake_file` exists; later runs go through;
- fail_step: this step always raises RuntimeError("boom in <step>");
- wait_seconds: step "second" starts with wait(wait_seconds) and its continue part ends it;
- step_sleep: seconds each part sleeps between its start and end lines;
- until_empty: run again (every 0.1 s) until the queue holds no NEW or IN_PROGRESS element.
"""

import json
import os
import time
from pathlib import Path
from typing import Any

from openorch.database import QueueElement, QueueStatus
from openorch.sdk import OrchestratorConnection, Pipeline, Step, Wait, wait


def main() -> None:
    oc = OrchestratorConnection.create_connection_from_args()
    args: dict[str, Any] = json.loads(oc.process_arguments)
    journal = Path(args["journal"])

    def note(
        element: QueueElement, step: str, part: str, event: str, state: dict[str, Any]
    ) -> None:
        line = json.dumps(
            {
                "pid": os.getpid(),
                "element": str(element.id),
                "step": step,
                "part": part,
                "event": event,
                "t": time.time(),
                "state": state,
            }
        )
        with journal.open("a") as sink:
            sink.write(line + "\n")
            sink.flush()
            os.fsync(sink.fileno())

    def part(step: str, name: str) -> Any:
        def run(element: QueueElement, state: dict[str, Any]) -> Wait | None:
            note(element, step, name, "start", state)
            time.sleep(float(args.get("step_sleep", 0)))
            if args.get("fail_step") == step:
                raise RuntimeError(f"boom in {step}")
            marker = args.get("hang_marker")
            if step == "second" and marker and not Path(marker).exists():
                Path(marker).write_text(str(os.getpid()))
                wake = args.get("wake_file")
                deadline = time.monotonic() + 600
                while time.monotonic() < deadline and not (wake and Path(wake).exists()):
                    time.sleep(0.1)
            result: Wait | None = None
            if step == "second" and name == "start" and args.get("wait_seconds"):
                result = wait(float(args["wait_seconds"]))
            state.setdefault("done", []).append(step)
            note(element, step, name, "end", state)
            return result

        return run

    pipeline = Pipeline(
        "three",
        [
            Step("first", part("first", "start")),
            Step("second", part("second", "start"), on_continue=part("second", "continue")),
            Step("third", part("third", "start")),
        ],
    )
    while True:
        pipeline.run(oc, args["queue"])
        if not args.get("until_empty"):
            break
        open_ones = [
            element
            for status in (QueueStatus.NEW, QueueStatus.IN_PROGRESS)
            for element in oc.get_queue_elements(args["queue"], status=status, limit=1)
        ]
        if not open_ones:
            break
        time.sleep(0.1)


if __name__ == "__main__":
    main()

"""The backup example (examples/backup_pipeline.py) run unchanged, with every step part
wrapped to append a JSON line to the file named by $BACKUP_JOURNAL when it starts and
ends, and to take a little while ($BACKUP_STEP_SECONDS, default 0.2) like real work, so
a test that kills the process at random points lands inside steps too.
"""

import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from openorch import OrchestratorConnection
from openorch.database import QueueElement
from openorch.sdk import Pipeline, Step, Wait

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "backup_pipeline.py"


def _example() -> Any:
    spec = importlib.util.spec_from_file_location("backup_pipeline", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["backup_pipeline"] = module
    spec.loader.exec_module(module)
    return module


def _journaled(step: str, part: str, function: Any, journal: Path, pause: float) -> Any:
    def run(element: QueueElement, state: dict[str, Any]) -> Wait | None:
        def note(event: str) -> None:
            line = json.dumps(
                {
                    "pid": os.getpid(),
                    "element": str(element.id),
                    "step": step,
                    "part": part,
                    "event": event,
                    "t": time.time(),
                }
            )
            with journal.open("a") as sink:
                sink.write(line + "\n")
                sink.flush()

        note("start")
        time.sleep(pause)
        result: Wait | None = function(element, state)
        note("end")
        return result

    return run


def main() -> None:
    example = _example()
    journal = Path(os.environ["BACKUP_JOURNAL"])
    pause = float(os.environ.get("BACKUP_STEP_SECONDS", "0.2"))
    orchestrator = OrchestratorConnection.create_connection_from_args()
    pipeline: Pipeline = example.build_pipeline(json.loads(orchestrator.process_arguments))
    wrapped = Pipeline(
        pipeline.name,
        [
            Step(
                step.name,
                _journaled(step.name, "start", step.on_start, journal, pause),
                None
                if step.on_continue is None
                else _journaled(step.name, "continue", step.on_continue, journal, pause),
                step.time_limit,
            )
            for step in pipeline.steps
        ],
    )
    wrapped.run(orchestrator, example.QUEUE)


if __name__ == "__main__":
    main()

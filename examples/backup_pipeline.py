"""An example resumable pipeline: back up databases, one queue element per backup.

The Scheduler starts it (a queue trigger on the queue `example_backups`) as

    python backup_pipeline.py <process_name> <connection_string> <key> <process_args> \
        <trigger_id> <job_id>

with process_args a JSON object: {"service": "<URL of backup_service.py>",
"folder": "<where backups are written>", "poll_seconds": 1, "time_limit_seconds": 600}.

Each element (data: {"database": "sales", "rows": 500}) goes through three steps:

1. generate  - write the backup file and remember its name and checksum in the state;
2. transfer  - start the upload at the storage service and *wait*: the element goes back
               to NEW, not claimable for `poll_seconds`, and a later run checks the upload
               (on_continue) until it is done - or fails the element after
               `time_limit_seconds`;
3. notify    - tell someone where the backup is.

Kill it at any moment: the next run starts at the step that did not finish, with the
state saved after the last one that did. Steps that talk to the outside send an
idempotency key (the element id), so a step run again after a crash does not start a
second transfer or send a second notification.
"""

import hashlib
import json
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

from openorch import OrchestratorConnection
from openorch.database import QueueElement
from openorch.sdk import Pipeline, Step, Wait, wait

QUEUE = "example_backups"


def call(url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """One JSON request to the storage service (POST with a body, else GET)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


class BackupSteps:
    """The three steps, configured from the process arguments."""

    def __init__(self, service: str, folder: Path, poll_seconds: float) -> None:
        self.service = service.rstrip("/")
        self.folder = folder
        self.poll_seconds = poll_seconds

    def generate(self, element: QueueElement, state: dict[str, Any]) -> None:
        """Write the backup (a stand-in dump) and keep its name and checksum."""
        job = json.loads(element.data or "{}")
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{element.reference}.bak"
        lines = [f"{job.get('database', 'db')} row {n}\n" for n in range(int(job.get("rows", 100)))]
        content = "".join(lines).encode()
        target.write_bytes(content)  # run again after a crash: the same file again
        state["file"] = str(target)
        state["bytes"] = len(content)
        state["sha256"] = hashlib.sha256(content).hexdigest()

    def start_transfer(self, element: QueueElement, state: dict[str, Any]) -> Wait:
        """Hand the file to the storage service; come back later to see it done."""
        answer = call(
            f"{self.service}/transfers",
            {"key": str(element.id), "file": state["file"], "sha256": state["sha256"]},
        )
        state["transfer_id"] = answer["id"]
        return wait(self.poll_seconds)

    def check_transfer(self, element: QueueElement, state: dict[str, Any]) -> Wait | None:
        """Done when the service says so; otherwise wait again."""
        answer = call(f"{self.service}/transfers/{state['transfer_id']}")
        state["checks"] = state.get("checks", 0) + 1
        if answer["status"] != "done":
            return wait(self.poll_seconds)
        state["location"] = answer["location"]
        return None

    def notify(self, element: QueueElement, state: dict[str, Any]) -> None:
        """Tell someone where the backup went."""
        text = f"Backup {element.reference} stored at {state['location']}."
        state["notification"] = call(
            f"{self.service}/notifications", {"key": str(element.id), "text": text}
        )["id"]


def build_pipeline(arguments: dict[str, Any]) -> Pipeline:
    """The backup pipeline for these process arguments."""
    steps = BackupSteps(
        str(arguments["service"]),
        Path(arguments["folder"]),
        float(arguments.get("poll_seconds", 1)),
    )
    limit = timedelta(seconds=float(arguments.get("time_limit_seconds", 600)))
    return Pipeline(
        "backup",
        [
            Step("generate", steps.generate),
            Step(
                "transfer", steps.start_transfer, on_continue=steps.check_transfer, time_limit=limit
            ),
            Step("notify", steps.notify),
        ],
    )


def main() -> None:
    orchestrator = OrchestratorConnection.create_connection_from_args()
    arguments = json.loads(orchestrator.process_arguments or "{}")
    summary = build_pipeline(arguments).run(orchestrator, QUEUE)
    orchestrator.log_info(
        f"Backups: {summary.done} done, {summary.waiting} waiting, {summary.retried} to "
        f"retry, {summary.failed} failed, {summary.lost} lost."
    )


if __name__ == "__main__":
    main()

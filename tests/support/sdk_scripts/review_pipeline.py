"""A robot with business and application failures, run as the Scheduler runs processes:
`python review_pipeline.py NAME URL KEY ARGS "" JOB`, ARGS = {"queue", "journal"}.

Step "fetch" notes itself in the state; step "check" raises BusinessError for references
starting "biz" (unless the element's data is "fixed"), ConnectionError for "app", and
asks a person for references starting "ask"; step "finish" writes the state it got to
the journal (one JSON line per step start).
"""

import json
import os
from pathlib import Path
from typing import Any

from openorch.database import QueueElement
from openorch.sdk import BusinessError, OrchestratorConnection, Pipeline, Step, wait_for_review

connection = OrchestratorConnection.create_connection_from_args()
args = json.loads(connection.process_arguments)
journal = Path(args["journal"])


def note(step: str, item: QueueElement, state: dict[str, Any]) -> None:
    line = {"pid": os.getpid(), "step": step, "reference": item.reference, "state": state}
    with journal.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def fetch(item: QueueElement, state: dict[str, Any]) -> None:
    note("fetch", item, state)
    state["fetched"] = True


def check(item: QueueElement, state: dict[str, Any]) -> Any:
    note("check", item, state)
    reference = item.reference or ""
    if reference.startswith("biz") and item.data != "fixed":
        raise BusinessError(f"Unknown customer in {reference}")
    if reference.startswith("app"):
        raise ConnectionError("portal down")
    if reference.startswith("ask"):
        return wait_for_review("Approve the amount?", form={"amount": "Amount"})
    return None


def finish(item: QueueElement, state: dict[str, Any]) -> None:
    note("finish", item, state)


pipeline = Pipeline(
    "review-demo", [Step("fetch", fetch), Step("check", check), Step("finish", finish)]
)
summary = pipeline.run(connection, args["queue"])
connection.log_info(f"summary {summary}")

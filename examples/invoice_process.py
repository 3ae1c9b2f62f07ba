"""An example RPA process: pay the invoices in a queue.

The Scheduler starts it as

    python invoice_process.py <process_name> <connection_string> <key> <process_args> \
        <trigger_id> <job_id>

It reads a constant and a credential, fills the queue `example_invoices` when it is empty
(a real process would read a mailbox or a spreadsheet), then drains it: claim an element,
"pay" it, mark it DONE (or FAILED), and log as it goes. It stops early when an admin
pauses its trigger. Only `from OpenOrchestrator...`-style imports would work as well.
"""

import json

from openorch import OrchestratorConnection
from openorch.database import QueueStatus

QUEUE = "example_invoices"


def pay(invoice: dict[str, object], api_url: str, username: str) -> None:
    """Stand-in for the real work (a web portal, an ERP client...)."""
    if float(str(invoice["amount"])) < 0:
        raise ValueError("a negative amount cannot be paid")


def main() -> None:
    orchestrator = OrchestratorConnection.create_connection_from_args()
    orchestrator.log_info(f"Started with arguments {orchestrator.process_arguments!r}")

    api_url = orchestrator.get_constant("example_api_url").value
    credential = orchestrator.get_credential("example_api")
    orchestrator.log_trace(f"Using {api_url} as {credential.username}")

    if not orchestrator.get_queue_elements(QUEUE, status=QueueStatus.NEW, limit=1):
        invoices = [{"invoice": n, "amount": 100 + n} for n in range(1, 11)]
        orchestrator.bulk_create_queue_elements(
            QUEUE,
            references=[f"INV-{item['invoice']:04}" for item in invoices],
            data=[json.dumps(item) for item in invoices],
            created_by=orchestrator.process_name,
        )
        orchestrator.log_info(f"Queued {len(invoices)} invoices")

    paid = 0
    while (element := orchestrator.get_next_queue_element(QUEUE)) is not None:
        try:
            pay(json.loads(element.data or "{}"), api_url, credential.username)
        except Exception as error:  # one bad invoice must not stop the others
            orchestrator.set_queue_element_status(element.id, QueueStatus.FAILED, str(error))
            orchestrator.log_error(f"{element.reference}: {error}")
            continue
        orchestrator.set_queue_element_status(element.id, QueueStatus.DONE, "paid")
        paid += 1
        if orchestrator.trigger_id is not None and orchestrator.is_trigger_pausing():
            orchestrator.log_info("Trigger is pausing: stopping early")
            break

    orchestrator.log_info(f"Done: paid {paid} invoices")


if __name__ == "__main__":
    main()

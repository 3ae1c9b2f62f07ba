"""Queue writes as the original's processes make them, through whichever
`OpenOrchestrator` package is importable: create, bulk create, claim, set statuses,
delete. Prints the package's own `get_queue_count()` as JSON (names of statuses).

    python queue_writes.py URL QUEUE
"""

import json
import sys

from OpenOrchestrator.database import db_util
from OpenOrchestrator.database.queues import QueueStatus

url, queue = sys.argv[1:3]
db_util.connect(url)
db_util.bulk_create_queue_elements(
    queue, [f"b{n}" for n in range(30)], [f"d{n}" for n in range(30)]
)
for n in range(5):
    db_util.create_queue_element(queue, f"one{n}", "data", "original")
claimed = [db_util.get_next_queue_element(queue) for _ in range(12)]
for element in claimed[:4]:
    db_util.set_queue_element_status(element.id, QueueStatus.DONE, "done by the original")
for element in claimed[4:6]:
    db_util.set_queue_element_status(element.id, QueueStatus.FAILED, "failed")
db_util.delete_queue_element(claimed[6].id)
counts = db_util.get_queue_count()
print(json.dumps({name: {s.name: n for s, n in per.items()} for name, per in counts.items()}))

"""A worker of the original's kind on a queue that has elements in openorch's review:
read every element's status, claim the next one and finish it. Prints JSON.

    python read_review_queue.py URL QUEUE
"""

import json
import sys

from OpenOrchestrator.database import db_util
from OpenOrchestrator.database.queues import QueueStatus

url, queue = sys.argv[1:3]
db_util.connect(url)
statuses = {element.reference: element.status.name for element in db_util.get_queue_elements(queue)}
claimed = db_util.get_next_queue_element(queue)
if claimed is not None:
    db_util.set_queue_element_status(claimed.id, QueueStatus.DONE, "done by the original")
print(json.dumps({"statuses": statuses, "claimed": claimed.reference if claimed else None}))

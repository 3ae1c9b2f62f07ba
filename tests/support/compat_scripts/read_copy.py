"""Read a whole database through whichever `OpenOrchestrator` is importable (the original
3.0.0 in its side virtualenv) and print it as one JSON line, ids and times as text: the
copy tests run it on a database and on its copy, and the two lines must be equal.

    python read_copy.py URL KEY
"""

import json
import sys
from typing import Any

from OpenOrchestrator.common import crypto_util
from OpenOrchestrator.database import db_util


def rows(values: Any) -> list[dict[str, Any]]:
    return sorted(
        (item.to_row_dict() for item in values), key=lambda row: json.dumps(row, default=str)
    )


def main(url: str, key: str) -> None:
    assert db_util.connect(url), f"cannot connect to {url}"
    crypto_util.set_key(key)
    mail = db_util.get_credential("mail")
    found = {
        "revision ok": db_util.check_database_revision(),
        "constants": rows(db_util.get_constants()),
        "credentials (as stored)": sorted(
            (item.name, item.username, item.password) for item in db_util.get_credentials()
        ),
        "mail credential": [mail.username, mail.password],
        "triggers": rows(db_util.get_all_triggers()),
        "whitelists": sorted(
            (item.trigger_name, item.scheduler_whitelist) for item in db_util.get_all_triggers()
        ),
        "jobs": rows(db_util.get_jobs()),
        "logs": rows(db_util.get_logs(0, 100)),
        "elements": {
            queue: rows(db_util.get_queue_elements(queue)) for queue in ("outbox", "bulk", "steps")
        },
        "queue count": {
            queue: {status.name: count for status, count in counts.items()}
            for queue, counts in db_util.get_queue_count().items()
        },
        "schedulers": rows(db_util.get_schedulers()),
    }
    print(json.dumps(found, default=str, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

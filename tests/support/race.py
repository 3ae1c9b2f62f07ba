"""Worker processes for the concurrency tests and benchmarks.

`python -m support.race claim URL START_FILE QUEUE` claims until the queue is empty and
prints one claimed id per line; `begin URL START_FILE ID...` tries to begin each trigger
and prints the ones it won; `begin-mixed URL START_FILE r:ID|t:ID...` begins run requests
(r:) and triggers (t:) in the order given and prints those it won. Workers wait for a
start file so they all begin at once. Errors go to stderr and the exit code.
"""

import sys
import time
from pathlib import Path

from openorch.database import QueueStatus
from openorch.store import Store


def _wait_for(start_file: str) -> None:
    deadline = time.monotonic() + 60
    while not Path(start_file).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("start signal never came")
        time.sleep(0.005)


def claim(url: str, queue_name: str, start_file: str) -> None:
    store = Store(url)
    store.ping()
    _wait_for(start_file)
    out = []
    while (element := store.get_next_queue_element(queue_name)) is not None:
        store.set_queue_element_status(element.id, QueueStatus.DONE)
        out.append(str(element.id))
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))
    store.close()


def begin(url: str, start_file: str, trigger_ids: list[str]) -> None:
    store = Store(url)
    store.ping()
    _wait_for(start_file)
    won = [trigger_id for trigger_id in trigger_ids if store.begin_trigger(trigger_id)]
    sys.stdout.write("\n".join(won) + ("\n" if won else ""))
    store.close()


def begin_mixed(url: str, start_file: str, items: list[str]) -> None:
    store = Store(url)
    store.ping()
    _wait_for(start_file)
    won = []
    for item in items:
        kind, key = item.split(":", 1)
        begun = (
            store.begin_run_request(key, "racer") is not None
            if kind == "r"
            else store.begin_trigger(key)
        )
        if begun:
            won.append(item)
    sys.stdout.write("\n".join(won) + ("\n" if won else ""))
    store.close()


if __name__ == "__main__":
    command, url, start, *rest = sys.argv[1:]
    if command == "claim":
        claim(url, rest[0], start)
    elif command == "begin":
        begin(url, start, rest)
    elif command == "begin-mixed":
        begin_mixed(url, start, rest)
    else:
        raise SystemExit(f"unknown command {command}")

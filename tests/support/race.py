"""Worker processes for the concurrency tests and benchmarks.

`python -m support.race claim URL START_FILE QUEUE` claims until the queue is empty and
prints one claimed id per line; `begin URL START_FILE ID...` tries to begin each trigger
and prints the ones it won; `begin-mixed URL START_FILE r:ID|t:ID...` begins run requests
(r:) and triggers (t:) in the order given and prints those it won; `churn URL START_FILE
QUEUE SEED [DIE_AFTER]` claims until the queue is empty and ends each element its own way
(done, failed, retried, released, deleted), compacting the counts now and then, and with
DIE_AFTER exits abruptly in the middle of a write after that many claims. Workers wait for a
start file so they all begin at once. Errors go to stderr and the exit code.
"""

import os
import sys
import time
from pathlib import Path

from openorch.database import QueueStatus
from openorch.store import Store


def release(start_file: Path, workers: int, timeout: float = 120) -> None:
    """Start the workers together: wait until `workers` of them are ready (each has
    opened its store and waits), then make the start file. Touching it at once let the
    first workers finish a small queue before a slow one had even imported openorch."""
    deadline = time.monotonic() + timeout
    while len(list(start_file.parent.glob(f"{start_file.name}.ready.*"))) < workers:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {workers} workers became ready")
        time.sleep(0.01)
    start_file.touch()


def _wait_for(start_file: str) -> None:
    Path(f"{start_file}.ready.{os.getpid()}").touch()  # for `release`
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


def churn(url: str, start_file: str, queue_name: str, seed: int, die_after: int | None) -> None:
    import random

    from sqlalchemy import text

    chance = random.Random(seed)
    store = Store(url)
    store.ping()
    _wait_for(start_file)
    claims = 0
    while (element := store.get_next_queue_element(queue_name)) is not None:
        claims += 1
        if die_after is not None and claims >= die_after:
            with store.engine.begin() as connection:  # killed half-way through a write
                connection.execute(
                    text("UPDATE \"Queues\" SET status = 'DONE' WHERE id = :id"),
                    {"id": element.id.hex if store.dialect == "sqlite" else element.id},
                )
                os._exit(0)
        roll = chance.random()
        if roll < 0.5:
            store.set_queue_element_status(element.id, QueueStatus.DONE)
        elif roll < 0.65:
            store.set_queue_element_status(element.id, QueueStatus.FAILED, "failed")
        elif roll < 0.8:
            store.retry_queue_element(element.id, "again")
        elif roll < 0.9:
            store.release_queue_element(element.id)
        else:
            store.delete_queue_element(element.id)
        if claims % 25 == 0:
            store.compact_queue_counts()
    store.close()


if __name__ == "__main__":
    command, url, start, *rest = sys.argv[1:]
    if command == "claim":
        claim(url, rest[0], start)
    elif command == "begin":
        begin(url, start, rest)
    elif command == "begin-mixed":
        begin_mixed(url, start, rest)
    elif command == "churn":
        churn(url, start, rest[0], int(rest[1]), int(rest[2]) if len(rest) > 2 else None)
    else:
        raise SystemExit(f"unknown command {command}")

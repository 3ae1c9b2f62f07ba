"""Scheduler benchmarks: one poll over 1,000 triggers, and dispatch latency."""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from openorch.scheduler.config import SchedulerSettings
from openorch.scheduler.engine import SchedulerEngine
from openorch.store import Store

HERE = Path(__file__).resolve().parent


def bench_poll(url: str, key: str, runs: int) -> dict[str, Any]:
    """One poll with 1,000 pending triggers of mixed kinds that this Scheduler may not
    run (whitelisted elsewhere), so the poll reads and selects but starts nothing."""
    store = Store(url, crypto_key=key)
    past = datetime.now() - timedelta(minutes=1)
    for number in range(1000):
        common: dict[str, Any] = {"scheduler_whitelist": ["another machine"]}
        if number % 3 == 0:
            store.create_single_trigger(
                f"s{number}", "p", past, "x.py", None, False, False, **common
            )
        elif number % 3 == 1:
            store.create_scheduled_trigger(
                f"c{number}", "p", "* * * * *", past, "x.py", None, False, False, **common
            )
        else:
            store.create_queue_trigger(
                f"q{number}", "p", "queue", "x.py", None, False, False, 1, **common
            )
    store.create_queue_element("queue", "due")
    folder = Path(tempfile.mkdtemp(prefix="bench-sched-"))
    settings = SchedulerSettings(
        conn_string=url,
        crypto_key=key,
        name="bench",
        clone_dir=folder / "clones",
        log_dir=folder / "logs",
    )
    engine = SchedulerEngine(settings, store, lambda _line: None)
    engine.poll()
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA")):
            statements.append(statement)

    timings = []
    event.listen(store.engine, "before_cursor_execute", count)
    try:
        for _ in range(runs):
            statements.clear()
            started = time.perf_counter()
            engine.poll()
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    queries = len(statements)

    def floor_poll() -> None:
        with store.engine.begin() as connection:
            connection.execute(
                text('UPDATE "Schedulers" SET last_update = :now WHERE machine_name = :name'),
                {"now": datetime.now(), "name": "bench"},
            )
            for table in ("Single_Triggers", "Scheduled_Triggers"):
                connection.execute(
                    text(
                        f'SELECT * FROM "Triggers" JOIN "{table}" USING (id) '
                        "WHERE process_status = 'IDLE' AND next_run <= :now"
                    ),
                    {"now": datetime.now()},
                ).all()
            connection.execute(
                text(
                    'SELECT * FROM "Triggers" t JOIN "Queue_Triggers" q USING (id) '
                    "WHERE t.process_status = 'IDLE' AND (SELECT count(*) FROM \"Queues\" e "
                    "WHERE e.queue_name = q.queue_name AND e.status = 'NEW') >= q.min_batch_size"
                )
            ).all()

    floor = []
    for _ in range(runs):
        started = time.perf_counter()
        floor_poll()
        floor.append((time.perf_counter() - started) * 1000)
    engine.close()
    store.close()
    ours = round(statistics.median(timings), 3)
    return {
        "figure": "scheduler_poll_1000_triggers",
        "ours": ours,
        "floor": round(statistics.median(floor), 3),
        "unit": "ms",
        "queries": queries,
        "ratio": round(ours / statistics.median(floor), 2),
        "target": 20,
        "meets_target": ours <= 20,
    }


def bench_dispatch(url: str, key: str, trials: int = 5) -> dict[str, Any]:
    """From a single trigger's due time to its process running, with a headless
    Scheduler at default settings. Triggers are made 2.5 s ahead, as admins plan them."""
    store = Store(url, crypto_key=key)
    folder = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "NICEGUI"))}
    env["OPENORCH_HOME"] = str(folder / "home")
    scheduler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "openorch",
            "s",
            "--headless",
            "--conn",
            url,
            "--key",
            key,
            "--name",
            "bench-dispatch",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    latencies = []
    try:
        time.sleep(3)
        for trial in range(trials):
            stamp_file = folder / f"stamp{trial}"
            due = datetime.now() + timedelta(seconds=2.5)
            store.create_single_trigger(
                f"dispatch {trial}",
                "stamp",
                due,
                str(HERE / "stamp.py"),
                str(stamp_file),
                False,
                False,
            )
            deadline = time.monotonic() + 30
            while not stamp_file.exists() or not stamp_file.read_text():
                if time.monotonic() > deadline:
                    raise TimeoutError("the Scheduler did not start the process in 30 s")
                time.sleep(0.01)
            latencies.append(float(stamp_file.read_text()) - due.timestamp())
    finally:
        scheduler.send_signal(signal.SIGINT)
        scheduler.wait(timeout=60)
        store.close()
    median_s = round(statistics.median(latencies), 3)
    return {
        "figure": "dispatch_latency",
        "ours": median_s,
        "unit": "s",
        "all": [round(value, 3) for value in latencies],
        "target": 1.5,
        "meets_target": median_s <= 1.5,
    }

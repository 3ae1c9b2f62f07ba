"""Many processes at once: every element claimed exactly once, every trigger begun once.

Real processes, each with its own connection pool, released together by a start file.
"""

import os
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.dialects import mssql, postgresql

from openorch.database import QueueStatus
from openorch.store import Store
from openorch.store.queues.claim import claim_statement, claim_update_statement

TESTS = Path(__file__).resolve().parents[1]


def run_workers(args_per_worker: list[list[str]], tmp_path: Path) -> list[str]:
    """Start the workers, release them at once, return every line they printed."""
    start = tmp_path / "start"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path])}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "support.race", command, url, str(start), *rest],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=TESTS,
        )
        for command, url, *rest in args_per_worker
    ]
    start.touch()
    lines: list[str] = []
    errors: list[str] = []
    for worker in workers:
        out, err = worker.communicate(timeout=240)
        if worker.returncode != 0:
            errors.append(err[-2000:])
        lines.extend(line for line in out.splitlines() if line)
    assert errors == [], errors
    return lines


@pytest.mark.slow
def test_claim_next_hands_each_element_to_one_process(db_url: str, tmp_path: Path) -> None:
    store = Store(db_url)
    # Enough that every process races the others for most of the run (sizes cut from
    # 8 x 5,000 / 4 x 2,000 when the suite's time was measured: same races, a third of
    # the time; bench/ measures claim throughput).
    processes, size = (6, 2000) if store.dialect == "postgresql" else (4, 800)
    store.bulk_create_queue_elements("race", [f"r{i}" for i in range(size)], [None] * size)

    claimed = run_workers([["claim", db_url, "race"] for _ in range(processes)], tmp_path)

    duplicates = [element for element, count in Counter(claimed).items() if count > 1]
    assert duplicates == []
    assert len(claimed) == size
    counts = store.get_queue_count()["race"]
    assert counts[QueueStatus.DONE] == size and counts[QueueStatus.NEW] == 0
    store.close()


@pytest.mark.slow
def test_begin_trigger_is_won_once_across_processes(db_url: str, tmp_path: Path) -> None:
    store = Store(db_url)
    due = datetime.now() - timedelta(seconds=1)
    ids = [
        str(store.create_single_trigger(f"t{i:03}", "p", due, "p.py", "", False, False, 0))
        for i in range(60)
    ]
    won = run_workers([["begin", db_url, *ids] for _ in range(4)], tmp_path)
    assert sorted(won) == sorted(ids)  # each trigger begun exactly once, none missed
    store.close()


@pytest.mark.slow
def test_requested_runs_and_due_triggers_begin_each_trigger_once(
    db_url: str, tmp_path: Path
) -> None:
    """Processes race to begin run requests (as Schedulers do for API runs) and, for half
    the triggers, the trigger itself as due: every trigger is begun exactly once, by a
    request or by its schedule, and every job belongs to a request that was won."""
    store = Store(db_url)
    due = datetime.now() - timedelta(seconds=1)
    items: list[str] = []
    requests: dict[str, str] = {}
    for number in range(24):
        trigger_id = store.create_single_trigger(
            f"t{number:03}", "p", due, "p.py", "", False, False
        )
        request = store.request_run(trigger_id, "racer", None, f"case-{number}")
        requests[f"r:{request.id}"] = str(trigger_id)
        items.append(f"r:{request.id}")
        if number % 2:
            items.append(f"t:{trigger_id}")
    orders = [items, items[::-1], items[1:] + items[:1]]
    won = run_workers([["begin-mixed", db_url, *orders[n % 3]] for n in range(6)], tmp_path)
    begun_triggers = [requests.get(item, item.removeprefix("t:")) for item in won]
    assert sorted(begun_triggers) == sorted(requests.values())  # each once, none missed
    request_wins = [item for item in won if item.startswith("r:")]
    jobs = store.get_jobs()
    assert len(jobs) == len(request_wins) >= 12  # the even half can only start by request
    assert len({job.correlation_id for job in jobs}) == len(jobs)
    store.close()


def test_claim_sql_locks_and_skips_on_postgresql_and_sql_server() -> None:
    pg_sql = str(claim_statement("q").compile(dialect=postgresql.dialect()))
    assert "FOR UPDATE SKIP LOCKED" in pg_sql
    assert "ORDER BY" in pg_sql and "LIMIT" in pg_sql
    ms_sql = str(claim_statement("q", "ref").compile(dialect=mssql.dialect()))
    assert "WITH (UPDLOCK, ROWLOCK, READPAST)" in ms_sql
    assert "TOP" in ms_sql and "ORDER BY" in ms_sql
    assert "FOR UPDATE" not in ms_sql  # the dialect drops it: the hint is what locks
    one_statement = str(
        claim_update_statement(True, "postgresql").compile(dialect=postgresql.dialect())
    )
    assert one_statement.startswith('UPDATE "Queues"')
    assert "FOR UPDATE SKIP LOCKED) RETURNING" in one_statement

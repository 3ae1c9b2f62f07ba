"""8 processes, each a job as a Scheduler would start it, drain 20,000 elements through
the SDK on PostgreSQL while the server restarts once.

The SDK rides through the restart (a process with a job id waits out an outage); a claim
whose answer was lost in the restart leaves its element IN_PROGRESS bound to the job, and
ending the job (as the Scheduler does when the process exits) releases it to NEW on this
queue with retries, where a last run finishes it. In the end every element is DONE
exactly once and none is IN_PROGRESS or lost.
"""

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from openorch import migrate
from openorch.database import JobStatus, QueueStatus
from openorch.store import Store, build_engine
from support.pgcluster import PgCluster, create_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DRAIN = Path(__file__).resolve().parents[1] / "support" / "sdk_scripts" / "drain.py"
WORKERS = 8
ELEMENTS = 20_000


def _start_workers(
    url: str, key: str, store: Store, go: Path, count: int
) -> list[tuple[subprocess.Popen[str], object]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    started = []
    for _ in range(count):
        job = store.start_job("drainer", "test-harness")
        args = json.dumps({"queue": "drain", "go": str(go)})
        worker = subprocess.Popen(
            [sys.executable, str(DRAIN), "drainer", url, key, args, "", str(job.id)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        started.append((worker, job.id))
    for worker, _ in started:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready", worker.stderr.read()  # type: ignore[union-attr]
    return started


def _finish(
    workers: list[tuple[subprocess.Popen[str], object]],
    store: Store,
    errors: list[str] | None = None,
) -> list[str]:
    """Wait for every worker, then end its job as its Scheduler would (DONE)."""
    done: list[str] = []
    for worker, job_id in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err[-3000:]
        done.extend(json.loads(out.strip().splitlines()[-1]))
        if errors is not None:
            errors.append(err)
        store.end_job(job_id, JobStatus.DONE)  # type: ignore[arg-type]
    return done


def test_eight_processes_drain_through_a_server_restart(
    own_pg: PgCluster, crypto_key: str, tmp_path: Path
) -> None:
    url = create_database(own_pg.server_url)
    engine = build_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    store = Store(url, crypto_key=crypto_key)
    store.set_queue_settings("drain", max_attempts=3)
    store.bulk_create_queue_elements("drain", [f"e{n}" for n in range(ELEMENTS)], [None] * ELEMENTS)
    go = tmp_path / "go"
    workers = _start_workers(url, crypto_key, store, go, WORKERS)
    started = time.monotonic()
    go.touch()
    deadline = time.monotonic() + 300
    while store.get_queue_count()["drain"][QueueStatus.DONE] < ELEMENTS // 4:
        assert time.monotonic() < deadline, "the workers make no progress"
        time.sleep(0.1)
    store.close()
    own_pg.stop_server()  # fast shutdown: every open connection is cut
    time.sleep(2.0)
    own_pg.resume()
    restarted_at = time.monotonic() - started

    store = Store(url, crypto_key=crypto_key)
    errors: list[str] = []
    done = _finish(workers, store, errors)
    # The workers noticed the restart and waited it out (none failed).
    assert sum("retrying for up to 60 s" in err for err in errors) >= 1, errors
    counts = store.get_queue_count()["drain"]
    released = counts[QueueStatus.NEW]
    assert counts[QueueStatus.IN_PROGRESS] == 0, counts
    if released:
        # Claims lost in the restart, released by their job's end: a last run ends them.
        done += _finish(_start_workers(url, crypto_key, store, go, 1), store)
    elapsed = time.monotonic() - started

    counts = store.get_queue_count()["drain"]
    assert counts == {**dict.fromkeys(QueueStatus, 0), QueueStatus.DONE: ELEMENTS}, counts
    twice = [key for key, seen in Counter(done).items() if seen > 1]
    assert twice == [], f"{len(twice)} elements were finished twice"
    assert len(done) == ELEMENTS
    elements = store.get_queue_elements("drain", limit=ELEMENTS)
    assert {str(e.id) for e in elements} == set(done)
    retried = [e for e in elements if e.attempts]
    assert len(retried) == released
    assert all(e.message and e.message.startswith("pid ") for e in elements)
    print(
        f"\n[drain] {ELEMENTS} elements, {WORKERS} processes, restart at "
        f"{restarted_at:.1f} s, {released} released by their job's end, {elapsed:.1f} s"
    )
    store.close()

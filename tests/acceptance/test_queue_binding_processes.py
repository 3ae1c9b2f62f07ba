"""Queue elements bound to their job, with real processes and real signals:

- a queue trigger's process claims an element and is SIGKILLed: within a poll of the job
  ending, the element is ABANDONED with a message (default), or NEW with attempts 1 on a
  queue with retries and a later run finishes it;
- a retry delay is honoured by that later run;
- the whole Scheduler is SIGKILLed: another Scheduler reaps its job, which releases the
  element;
- several processes add the same references at the same moment: exactly one wins each.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from openorch.database import JobStatus, QueueStatus, TriggerStatus
from openorch.store import Store
from support.headless import Headless

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")

SCRIPTS = Path(__file__).resolve().parents[1] / "support" / "sdk_scripts"
POLL = 0.3


@pytest.fixture
def headless() -> Iterator[list[Headless]]:
    started: list[Headless] = []
    yield started
    for one in started:
        one.kill()


@pytest.fixture
def orphans() -> Iterator[list[int]]:
    """Pids of processes a killed Scheduler left behind; killed at the end."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, schedulers: list[Headless]
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            outputs = "\n---\n".join(one.text()[-3000:] for one in schedulers)
            raise AssertionError(f"timed out after {timeout} s waiting for {what}:\n{outputs}")
        time.sleep(0.05)


def _queue_trigger(store: Store, tmp_path: Path, queue: str) -> tuple[uuid.UUID, Path]:
    pidfile = tmp_path / f"{queue}.pid"
    trigger = store.create_queue_trigger(
        f"t-{queue}",
        "claimer",
        queue,
        str(SCRIPTS / "claim_and_hang.py"),
        json.dumps({"queue": queue, "pidfile": str(pidfile)}),
        False,
        False,
        1,
    )
    return trigger, pidfile


def _claimed(pidfile: Path) -> tuple[int, str] | None:
    try:
        pid, element = pidfile.read_text().split()
    except (FileNotFoundError, ValueError):
        return None
    return int(pid), element


def _kill_mid_element(store: Store, pidfile: Path, headless: list[Headless]) -> tuple[str, float]:
    wait_for(lambda: _claimed(pidfile) is not None, 30, "the process to claim", headless)
    claimed = _claimed(pidfile)
    assert claimed is not None
    pid, element_id = claimed
    element = store.get_queue_element(element_id)
    assert element.status is QueueStatus.IN_PROGRESS
    assert element.job_id is not None, "the claim did not record its job"
    assert store.get_job(element.job_id).status is JobStatus.RUNNING
    os.kill(pid, signal.SIGKILL)
    return element_id, time.monotonic()


def test_killed_process_abandons_its_element(
    db_url: str, crypto_key: str, tmp_path: Path, headless: list[Headless]
) -> None:
    store = Store(db_url, crypto_key=crypto_key)
    store.create_queue_element("plain", "r1")
    trigger_id, pidfile = _queue_trigger(store, tmp_path, "plain")
    scheduler = Headless(tmp_path, db_url, crypto_key, "--poll-interval", str(POLL))
    headless.append(scheduler)
    element_id, killed_at = _kill_mid_element(store, pidfile, headless)
    wait_for(
        lambda: store.get_queue_element(element_id).status is not QueueStatus.IN_PROGRESS,
        10,
        "the element to be released",
        headless,
    )
    released_after = time.monotonic() - killed_at
    element = store.get_queue_element(element_id)
    job = store.get_job(element.job_id)  # type: ignore[arg-type]
    assert job.status is JobStatus.FAILED
    assert element.status is QueueStatus.ABANDONED and element.attempts == 1
    assert f"Job {job.id} ended FAILED" in (element.message or "")
    # One poll notices the exit; allow for a loaded machine.
    assert released_after < POLL + 3.0, released_after
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.FAILED
    store.close()


def test_killed_process_retries_after_the_delay_and_a_later_run_finishes(
    db_url: str, crypto_key: str, tmp_path: Path, headless: list[Headless]
) -> None:
    store = Store(db_url, crypto_key=crypto_key)
    store.set_queue_settings("retrying", max_attempts=3, retry_delay_seconds=2)
    store.create_queue_element("retrying", "r1")
    trigger_id, pidfile = _queue_trigger(store, tmp_path, "retrying")
    scheduler = Headless(tmp_path, db_url, crypto_key, "--poll-interval", str(POLL))
    headless.append(scheduler)
    element_id, _ = _kill_mid_element(store, pidfile, headless)
    wait_for(
        lambda: store.get_queue_element(element_id).status is QueueStatus.NEW,
        10,
        "the element back to NEW",
        headless,
    )
    again = store.get_queue_element(element_id)
    assert again.attempts == 1 and again.not_before is not None
    assert "ended FAILED" in (again.message or "")
    first_job = again.job_id
    # The admin re-enables the trigger at once; the delay still holds the element.
    store.set_trigger_status(trigger_id, TriggerStatus.IDLE)
    wait_for(
        lambda: store.get_queue_element(element_id).status is QueueStatus.DONE,
        20,
        "a later run to finish the element",
        headless,
    )
    done = store.get_queue_element(element_id)
    assert done.start_date is not None and done.start_date >= again.not_before
    assert done.job_id is not None and done.job_id != first_job
    assert done.message == "finished on a later run" and done.attempts == 1
    store.close()


@pytest.mark.slow  # a fault test with real processes (the everyday run leaves it out)
def test_killed_scheduler_is_reaped_and_its_element_released(
    db_url: str,
    crypto_key: str,
    tmp_path: Path,
    headless: list[Headless],
    orphans: list[int],
) -> None:
    store = Store(db_url, crypto_key=crypto_key)
    store.set_queue_settings("reaped", max_attempts=2)
    store.create_queue_element("reaped", "r1")
    trigger_id, pidfile = _queue_trigger(store, tmp_path, "reaped")
    # A Scheduler's own declared timeout decides when it counts as dead.
    doomed = Headless(
        tmp_path,
        db_url,
        crypto_key,
        "--poll-interval",
        str(POLL),
        "--name",
        "doomed",
        "--heartbeat-timeout",
        "2",
    )
    headless.append(doomed)
    wait_for(lambda: _claimed(pidfile) is not None, 30, "the process to claim", headless)
    claimed = _claimed(pidfile)
    assert claimed is not None
    orphans.append(claimed[0])
    element_id = claimed[1]
    doomed.process.kill()  # SIGKILL: no goodbye, its process lives on as an orphan
    doomed.process.wait()
    assert store.get_queue_element(element_id).status is QueueStatus.IN_PROGRESS

    reaper = Headless(
        tmp_path,
        db_url,
        crypto_key,
        "--poll-interval",
        str(POLL),
        "--name",
        "reaper",
        "--heartbeat-timeout",
        "2",
    )
    headless.append(reaper)
    wait_for(
        lambda: store.get_queue_element(element_id).status is not QueueStatus.IN_PROGRESS,
        20,
        "the reaper to release the element",
        headless,
    )
    element = store.get_queue_element(element_id)
    assert element.status is QueueStatus.NEW and element.attempts == 1
    assert "stopped sending heartbeats" in (element.message or "")
    assert "'doomed'" in (element.message or "")
    assert store.get_job(element.job_id).status is JobStatus.FAILED  # type: ignore[arg-type]
    # The reaper's later run (after an admin re-enables the trigger) finishes it.
    store.set_trigger_status(trigger_id, TriggerStatus.IDLE)
    wait_for(
        lambda: store.get_queue_element(element_id).status is QueueStatus.DONE,
        20,
        "the reaper's run to finish the element",
        headless,
    )
    store.close()


def _race(url: str, tmp_path: Path, mode: str, references: list[str], processes: int) -> list[str]:
    start = tmp_path / f"go-{mode}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(SCRIPTS / "add_reference.py"),
                url,
                str(start),
                "unique",
                mode,
                *references,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(processes)
    ]
    time.sleep(2.0)  # every worker connected and waiting
    start.touch()
    lines: list[str] = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        lines.extend(out.split())
    return lines


def test_unique_references_under_a_race_of_processes(db_url: str, tmp_path: Path) -> None:
    store = Store(db_url)
    store.set_queue_settings("unique", unique_references=True)
    references = [f"invoice-{n}" for n in range(20)]
    words = _race(db_url, tmp_path, "single", references, processes=6)
    created = Counter(word for word in words[1::2] if True)
    outcomes = Counter(zip(words[0::2], words[1::2], strict=True))
    for reference in references:
        assert outcomes[("created", reference)] == 1, outcomes
        assert outcomes[("refused", reference)] == 5, outcomes
    assert sum(created.values()) == 6 * len(references)
    elements = store.get_queue_elements("unique", limit=1000)
    assert sorted(e.reference or "" for e in elements) == sorted(references)

    more = [f"bulk-{n}" for n in range(500)]
    words = _race(db_url, tmp_path, "bulk", more, processes=4)
    created_counts = [int(words[index + 1]) for index in range(0, len(words), 3)]
    assert sum(created_counts) == len(more), words
    total = store.get_queue_elements("unique", limit=10_000, include_count=True)[1]
    assert total == len(references) + len(more)
    store.close()


def test_start_date_of_a_claim_is_recent(db_url: str) -> None:
    """Guard for the tests above: a claim stamps start_date now (clock sanity)."""
    store = Store(db_url)
    store.create_queue_element("clock", "r")
    claimed = store.get_next_queue_element("clock")
    assert claimed is not None and claimed.start_date is not None
    assert abs((datetime.now() - claimed.start_date).total_seconds()) < 5
    store.close()


@pytest.mark.slow  # a fault test with real processes (the everyday run leaves it out)
def test_killed_scheduler_restarted_under_its_name_releases_the_element(
    db_url: str,
    crypto_key: str,
    tmp_path: Path,
    headless: list[Headless],
    orphans: list[int],
) -> None:
    store = Store(db_url, crypto_key=crypto_key)
    store.create_queue_element("restarted", "r1")
    _trigger_id, pidfile = _queue_trigger(store, tmp_path, "restarted")
    first = Headless(
        tmp_path, db_url, crypto_key, "--poll-interval", str(POLL), "--name", "robot-1"
    )
    headless.append(first)
    wait_for(lambda: _claimed(pidfile) is not None, 30, "the process to claim", headless)
    claimed = _claimed(pidfile)
    assert claimed is not None
    orphans.append(claimed[0])
    element_id = claimed[1]
    first.process.kill()  # SIGKILL: its process lives on as an orphan
    first.process.wait()
    assert store.get_queue_element(element_id).status is QueueStatus.IN_PROGRESS

    second = Headless(
        tmp_path, db_url, crypto_key, "--poll-interval", str(POLL), "--name", "robot-1"
    )
    headless.append(second)
    wait_for(
        lambda: store.get_queue_element(element_id).status is not QueueStatus.IN_PROGRESS,
        30,
        "the restart to release the element",
        headless,
    )
    element = store.get_queue_element(element_id)
    assert element.status is QueueStatus.ABANDONED and element.attempts == 1
    assert f"Job {element.job_id} ended FAILED" in (element.message or "")
    assert "restarted" in (element.message or "")
    store.close()

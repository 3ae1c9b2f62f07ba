"""Resumable pipelines with real processes and real signals (SQLite and PostgreSQL):

- a process SIGKILLed in the middle of step 2 of 3: once its job ends (as a Scheduler
  ends it), the next run starts at step 2 with the state saved after step 1, and step 1
  does not run again;
- a waiting step is continued after its not-before and not earlier, by a process that
  keeps polling the queue the whole time;
- an always-failing step ends the element FAILED after the queue's attempts, the step
  named in its message;
- two processes working one queue never run steps of the same element at the same time;
- a Scheduler SIGKILLed while its process is in step 2: another Scheduler reaps the job
  and resumes the element at step 2; the orphaned process can save nothing.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import pytest

from openorch.database import JobStatus, QueueStatus, TriggerStatus
from openorch.store import Store
from support.headless import Headless

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")

SCRIPT = Path(__file__).resolve().parents[1] / "support" / "sdk_scripts" / "pipeline_steps.py"


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def _spawn(
    store: Store, url: str, key: str, args: dict[str, Any], started: list[subprocess.Popen[bytes]]
) -> tuple[subprocess.Popen[bytes], uuid.UUID]:
    job = store.start_job("three", "test-machine").id
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "three", url, key, json.dumps(args), "", str(job)],
        env=env,
        stderr=subprocess.PIPE,
    )
    started.append(process)
    return process, job


def _finish(process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    _, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err.decode(errors="replace")


def _journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow  # a fault test with real processes (the everyday run leaves it out)
def test_killed_in_step_two_resumes_at_step_two_with_step_ones_state(
    db_url: str, crypto_key: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    store = Store(db_url, crypto_key=crypto_key)
    store.set_queue_settings("q", max_attempts=2)
    element = store.create_queue_element("q", "r1")
    journal, marker = tmp_path / "journal.jsonl", tmp_path / "hang"
    args = {"queue": "q", "journal": str(journal), "hang_marker": str(marker)}
    first, first_job = _spawn(store, db_url, crypto_key, args, processes)
    _wait_for(marker.exists, 30, "the process to hang in step 2")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    run = store.get_pipeline_run(element.id)
    assert run is not None and run.step == "second"
    assert json.loads(run.state) == {"done": ["first"]}
    # The Scheduler ends a killed process's job FAILED, which releases the element.
    assert store.end_job(first_job, JobStatus.FAILED)
    assert store.get_queue_element(element.id).status is QueueStatus.NEW

    second, second_job = _spawn(store, db_url, crypto_key, args, processes)
    _finish(second)
    lines = _journal(journal)
    starts = [
        (line["pid"], line["step"], line["state"]) for line in lines if line["event"] == "start"
    ]
    assert starts == [
        (first.pid, "first", {}),
        (first.pid, "second", {"done": ["first"]}),
        (second.pid, "second", {"done": ["first"]}),
        (second.pid, "third", {"done": ["first", "second"]}),
    ]
    done = store.get_queue_element(element.id)
    assert done.status is QueueStatus.DONE and done.attempts == 1
    history = store.get_pipeline_history(element.id)
    assert [(row.step, row.outcome, row.job_id) for row in history] == [
        ("first", "done", first_job),
        ("second", "interrupted", first_job),
        ("second", "done", second_job),
        ("third", "done", second_job),
    ]
    store.close()


def test_a_waiting_step_resumes_after_its_not_before_and_not_earlier(
    db_url: str, crypto_key: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    store = Store(db_url, crypto_key=crypto_key)
    element = store.create_queue_element("q", "r1")
    journal = tmp_path / "journal.jsonl"
    # The process polls the queue every 0.1 s all along: only not-before holds it back.
    args = {"queue": "q", "journal": str(journal), "wait_seconds": 1.5, "until_empty": True}
    process, _ = _spawn(store, db_url, crypto_key, args, processes)
    _wait_for(
        lambda: store.get_queue_element(element.id).not_before is not None, 30, "the step to wait"
    )
    waiting = store.get_queue_element(element.id)
    assert waiting.status is QueueStatus.NEW
    not_before = waiting.not_before
    assert not_before is not None
    _finish(process)
    history = store.get_pipeline_history(element.id)
    assert [(row.step, row.part, row.outcome) for row in history] == [
        ("first", "start", "done"),
        ("second", "start", "waiting"),
        ("second", "continue", "done"),
        ("third", "start", "done"),
    ]
    waited = history[1].finished_date
    assert waited is not None
    element_row = store.get_queue_element(element.id)
    assert (not_before - waited).total_seconds() == pytest.approx(1.5, abs=0.3)
    continued = [line for line in _journal(journal) if line["part"] == "continue"]
    assert len(continued) == 2  # its start and end lines
    assert datetime.fromtimestamp(continued[0]["t"]) >= not_before
    assert history[2].started_date >= not_before
    assert element_row.status is QueueStatus.DONE and not element_row.attempts
    store.close()


def test_an_always_failing_step_fails_the_element_after_the_queues_attempts(
    db_url: str, crypto_key: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    store = Store(db_url, crypto_key=crypto_key)
    store.set_queue_settings("q", max_attempts=3)
    element = store.create_queue_element("q", "r1")
    journal = tmp_path / "journal.jsonl"
    args = {"queue": "q", "journal": str(journal), "fail_step": "second", "until_empty": True}
    process, _ = _spawn(store, db_url, crypto_key, args, processes)
    _finish(process)
    failed = store.get_queue_element(element.id)
    assert failed.status is QueueStatus.FAILED and failed.attempts == 3
    assert failed.message is not None
    assert "step 'second' failed: RuntimeError: boom in second" in failed.message
    assert "FAILED after 3 of 3 attempt(s)" in failed.message
    steps = [line["step"] for line in _journal(journal) if line["event"] == "start"]
    assert steps == ["first", "second", "second", "second"]
    store.close()


def test_two_processes_never_run_steps_of_one_element_at_the_same_time(
    db_url: str, crypto_key: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    store = Store(db_url, crypto_key=crypto_key)
    references = [f"r{n}" for n in range(12)]
    store.bulk_create_queue_elements("q", references, [None] * len(references))
    journal = tmp_path / "journal.jsonl"
    # Step 2 waits, so elements come back to the queue and either process may continue them.
    args = {
        "queue": "q",
        "journal": str(journal),
        "wait_seconds": 0.3,
        "step_sleep": 0.02,
        "until_empty": True,
    }
    workers = [_spawn(store, db_url, crypto_key, args, processes)[0] for _ in range(2)]
    for worker in workers:
        _finish(worker)
    by_element: dict[str, list[dict[str, Any]]] = {}
    for line in _journal(journal):
        by_element.setdefault(line["element"], []).append(line)
    assert len(by_element) == len(references)
    for element_id, lines in by_element.items():
        lines.sort(key=lambda line: line["t"])
        # Strictly start, end, start, end...: no part began while another was running.
        assert [line["event"] for line in lines] == ["start", "end"] * 4, lines
        for start, end in zip(lines[::2], lines[1::2], strict=True):
            assert (start["pid"], start["step"], start["part"]) == (
                end["pid"],
                end["step"],
                end["part"],
            )
        assert store.get_queue_element(element_id).status is QueueStatus.DONE
    pids = {line["pid"] for lines in by_element.values() for line in lines}
    assert pids == {worker.pid for worker in workers}, "both processes should have worked"
    store.close()


@pytest.mark.slow  # a fault test with real processes (the everyday run leaves it out)
def test_scheduler_death_resumes_elsewhere_and_the_orphan_can_save_nothing(
    db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    """A Scheduler is SIGKILLed while its process is inside step 2. Another Scheduler
    reaps the job (the element goes back to NEW), and its run resumes at step 2 with
    step 1's state. The orphan the dead Scheduler left, woken afterwards, finishes its
    step's code but cannot save it, nor start step 3."""
    store = Store(db_url, crypto_key=crypto_key)
    store.set_queue_settings("q", max_attempts=2)
    element = store.create_queue_element("q", "r1")
    journal, marker, wake = tmp_path / "journal.jsonl", tmp_path / "hang", tmp_path / "wake"
    args = {
        "queue": "q",
        "journal": str(journal),
        "hang_marker": str(marker),
        "wake_file": str(wake),
    }
    trigger = store.create_queue_trigger(
        "t-three", "three", "q", str(SCRIPT), json.dumps(args), False, False, 1
    )
    started: list[Headless] = []
    orphan = 0
    try:
        # A dead Scheduler is judged by the heartbeat timeout it declared itself (issue 13).
        doomed = Headless(
            tmp_path,
            db_url,
            crypto_key,
            "--poll-interval",
            "0.3",
            "--name",
            "doomed",
            "--heartbeat-timeout",
            "2",
        )
        started.append(doomed)
        _wait_for(marker.exists, 30, "the process to hang in step 2")
        orphan = int(marker.read_text())
        doomed.process.kill()
        doomed.process.wait()
        reaper = Headless(
            tmp_path,
            db_url,
            crypto_key,
            "--poll-interval",
            "0.3",
            "--name",
            "reaper",
            "--heartbeat-timeout",
            "2",
        )
        started.append(reaper)
        _wait_for(
            lambda: store.get_queue_element(element.id).status is QueueStatus.NEW,
            30,
            "the reaper to release the element",
        )
        store.set_trigger_status(trigger, TriggerStatus.IDLE)  # the admin, after the failure
        _wait_for(
            lambda: store.get_queue_element(element.id).status is QueueStatus.DONE,
            30,
            "the reaper's run to finish the element",
        )
        history = store.get_pipeline_history(element.id)
        saved_state = store.get_pipeline_run(element.id).state  # type: ignore[union-attr]
        wake.touch()
        _wait_for(
            lambda: (
                not psutil.pid_exists(orphan)
                or psutil.Process(orphan).status() == psutil.STATUS_ZOMBIE
            ),
            30,
            "the orphan to give up",
        )
    finally:
        for one in started:
            one.kill()
        if orphan:
            with contextlib.suppress(ProcessLookupError):
                os.kill(orphan, signal.SIGKILL)
    doomed_job, reaper_job = history[0].job_id, history[2].job_id
    assert doomed_job != reaper_job
    assert [(row.step, row.outcome, row.job_id) for row in history] == [
        ("first", "done", doomed_job),
        ("second", "interrupted", doomed_job),
        ("second", "done", reaper_job),
        ("third", "done", reaper_job),
    ]
    lines = _journal(journal)
    resumed = [line for line in lines if line["pid"] != orphan and line["event"] == "start"]
    assert [(line["step"], line["state"]) for line in resumed] == [
        ("second", {"done": ["first"]}),
        ("third", {"done": ["first", "second"]}),
    ]
    # The orphan ran its step's code to the end, and got no further.
    assert [(line["step"], line["event"]) for line in lines if line["pid"] == orphan] == [
        ("first", "start"),
        ("first", "end"),
        ("second", "start"),
        ("second", "end"),
    ]
    # It was told why: its save found the element no longer its own.
    refusals = [log.log_message for log in store.get_logs(job_id=doomed_job, log_level="ERROR")]
    assert any(
        "Pipeline 'three', step 'second'" in text and "DONE now" in text for text in refusals
    ), refusals
    # Nothing the orphan tried after waking was written.
    assert [(row.id, row.outcome) for row in store.get_pipeline_history(element.id)] == [
        (row.id, row.outcome) for row in history
    ]
    assert store.get_pipeline_run(element.id).state == saved_state  # type: ignore[union-attr]
    assert store.get_queue_element(element.id).status is QueueStatus.DONE
    store.close()

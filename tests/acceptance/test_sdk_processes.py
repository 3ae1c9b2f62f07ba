"""Real processes using the SDK, started as the Scheduler starts them.

A script written for the original OpenOrchestrator (only `OpenOrchestrator` imports)
runs with the six-argument command line and by hand with four; many processes drain
one queue and every element is claimed exactly once.
"""

import json
import subprocess
import sys
import time
import uuid
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest

from openorch.database import JobStatus, LogLevel, QueueStatus, TriggerStatus
from openorch.store import Store

SCRIPTS = Path(__file__).resolve().parents[1] / "support" / "sdk_scripts"
#: Spaces, quotes and unicode must reach the process unchanged.
QUEUE = 'rpa queue "quoted" ü€'


def _prepare(store: Store) -> None:
    store.create_constant("greeting", "hej verden ✓")
    store.create_credential("robot", "robot@example.com", "s3cret pässword")


def _run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "rpa_process.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        encoding="utf-8",
    )


def test_original_script_with_six_arguments(db_url: str, crypto_key: str, store: Store) -> None:
    _prepare(store)
    trigger_id = store.create_single_trigger(
        "nightly",
        "Invoice robot",
        datetime.now(),
        str(SCRIPTS / "rpa_process.py"),
        "",
        False,
        False,
        0,
    )
    job = store.begin_trigger_run(trigger_id, "RPA01", None)  # as a Scheduler begins it
    assert job is not None
    process_args = json.dumps({"queue": QUEUE, "count": 25}, ensure_ascii=False)

    result = _run(["Invoice robot", db_url, crypto_key, process_args, str(trigger_id), str(job.id)])

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["process_arguments"] == process_args
    assert seen["trigger_id"] == str(trigger_id)
    assert seen["job_id"] == str(job.id)
    assert seen["constant"] == "hej verden ✓"
    assert (seen["username"], seen["password"]) == ("robot@example.com", "s3cret pässword")
    assert sorted(seen["done"]) == sorted(f"ref-{i}" for i in range(25))
    assert (seen["pausing_before"], seen["pausing_after"]) == (False, True)

    assert store.get_trigger(trigger_id).process_status == TriggerStatus.PAUSING
    elements, total = store.get_queue_elements(QUEUE, include_count=True, limit=100)
    assert total == 25
    for element in elements:
        assert element.status == QueueStatus.DONE
        assert element.created_by == "Invoice robot"
        assert element.start_date is not None and element.end_date is not None
        assert element.message == f"handled {json.loads(element.data or '')['n']}"
    logs = store.get_logs(0, 10, job_id=job.id, order_desc=False)
    assert [log.log_level for log in logs] == [LogLevel.INFO, LogLevel.TRACE, LogLevel.ERROR]
    assert all(log.process_name == "Invoice robot" for log in logs)
    assert logs[0].log_message == f"started with arguments {process_args}"
    assert store.get_job(job.id).status == JobStatus.RUNNING  # the Scheduler ends jobs


def test_original_script_started_by_hand_with_four_arguments(
    db_url: str, crypto_key: str, store: Store
) -> None:
    _prepare(store)
    process_args = json.dumps({"queue": "by hand", "count": 3})

    result = _run(["Hand run", db_url, crypto_key, process_args])

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["trigger_id"] is None and seen["job_id"] is None
    assert (seen["pausing_before"], seen["pausing_after"]) == (False, False)
    assert sorted(seen["done"]) == ["ref-0", "ref-1", "ref-2"]
    messages = [log.log_message for log in store.get_logs(0, 10, process_name="Hand run")]
    assert any("no trigger to pause" in message for message in messages)
    assert all(log.job_id is None for log in store.get_logs(0, 10, process_name="Hand run"))


def test_missing_arguments_explain_the_command_line(sqlite_db_url: str) -> None:
    result = _run(["Only name", sqlite_db_url])

    assert result.returncode == 1
    last = result.stderr.strip().splitlines()
    # Both the IndexError the original raised and a ValueError (issue 24), by its own name.
    assert any(
        line.startswith(
            "openorch.sdk.connection.MissingArguments: "
            "Missing command-line argument(s): crypto_key, process_args"
        )
        for line in last
    ), last[-3:]
    assert "<process_name> <connection_string> <crypto_key> <process_args>" in result.stderr
    assert "IndexError" not in result.stderr


def _drain_with(
    workers: int, db_url: str, crypto_key: str, store: Store, tmp_path: Path, elements: int
) -> None:
    queue = f"shared-{uuid.uuid4().hex[:8]}"
    store.bulk_create_queue_elements(
        queue, [f"r{i}" for i in range(elements)], [str(i) for i in range(elements)]
    )
    go = tmp_path / "go"
    args = json.dumps({"queue": queue, "go": str(go)})
    processes = [
        subprocess.Popen(
            [sys.executable, str(SCRIPTS / "drain.py"), f"worker {n}", db_url, crypto_key, args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(workers)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.strip() == "ready", process.stderr.read() if process.stderr else ""
        go.touch()
        claimed: list[str] = []
        deadline = time.monotonic() + 120
        for process in processes:
            out, err = process.communicate(timeout=max(deadline - time.monotonic(), 1))
            assert process.returncode == 0, err
            assert err == "", err
            claimed.extend(json.loads(out))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    assert len(claimed) == elements, "an element was claimed twice or not at all"
    assert len(set(claimed)) == elements, "an element was claimed twice"
    counts = store.get_queue_count()[queue]
    assert counts[QueueStatus.DONE] == elements
    assert counts[QueueStatus.NEW] == counts[QueueStatus.IN_PROGRESS] == 0


@pytest.mark.slow
def test_four_processes_drain_one_sqlite_queue_exactly_once(
    sqlite_db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    with closing(Store(sqlite_db_url, crypto_key=crypto_key)) as store:
        _drain_with(4, sqlite_db_url, crypto_key, store, tmp_path, elements=300)


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_processes_drain_one_postgresql_queue_exactly_once(
    pg_db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    with closing(Store(pg_db_url, crypto_key=crypto_key)) as store:
        _drain_with(8, pg_db_url, crypto_key, store, tmp_path, elements=600)

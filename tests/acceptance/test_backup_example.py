"""The issue's "done when": the backup example (examples/), run by a real headless
Scheduler through its queue trigger against the fake storage service, with its process
SIGKILLed at random points over many runs, ends with every element DONE, and no step whose
completion was saved ever ran again for the same element.

The process is the example's pipeline unchanged, wrapped only to journal when each step
part starts (tests/support/sdk_scripts/journaled_backup.py). Half the kills land at a
random moment of a run (start-up, claim, a step, a save), half just after a step started.
After each kill the Scheduler ends the job FAILED (which releases the element for another
attempt) and the test, as an admin would, sets the FAILED trigger back to IDLE.
"""

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import pytest

from openorch.database import QueueStatus, TriggerStatus
from openorch.store import Store
from support.headless import Headless

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
WRAPPER = ROOT / "tests" / "support" / "sdk_scripts" / "journaled_backup.py"
QUEUE = "example_backups"
KILLS = 8


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    """The example's fake storage service, on a free port; yields its URL."""
    url_file = tmp_path / "service-url"
    process = subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLES / "backup_service.py"),
            "--port",
            "0",
            "--transfer-seconds",
            "0.8",
            "--url-file",
            str(url_file),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not url_file.exists() or not url_file.read_text():
        assert process.poll() is None and time.monotonic() < deadline, "service did not start"
        time.sleep(0.05)
    yield url_file.read_text()
    process.kill()
    process.wait()


def _get(url: str) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def _pipeline_children(scheduler: Headless) -> list[psutil.Process]:
    try:
        children = psutil.Process(scheduler.process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if any("journaled_backup" in part for part in child.cmdline()):
                found.append(child)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def _journal(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow  # a fault test with real processes (the everyday run leaves it out)
def test_backup_example_killed_at_random_points_ends_all_done_without_rerunning_steps(
    db_url: str, crypto_key: str, tmp_path: Path, service: str
) -> None:
    seed = int(os.environ.get("OPENORCH_KILL_SEED", time.time_ns() % 100_000))
    print(f"kill seed {seed} (set OPENORCH_KILL_SEED to repeat)")
    rng = random.Random(seed)
    setup = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "setup_backup_example.py"),
            "--conn",
            db_url,
            "--key",
            crypto_key,
            "--service",
            service,
            "--folder",
            str(tmp_path / "backups"),
            "--poll-seconds",
            "0.3",
            "--attempts",
            "50",
            "--retry-delay",
            "0",
            "--process",
            str(WRAPPER),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "OPENORCH_HOME": str(tmp_path)},
        timeout=60,
    )
    assert setup.returncode == 0, setup.stderr
    store = Store(db_url, crypto_key=crypto_key)
    elements = store.get_queue_elements(QUEUE)
    assert len(elements) == 4
    trigger = next(t for t in store.get_all_triggers() if t.trigger_name == "Example backups")
    journal = tmp_path / "journal.jsonl"
    scheduler = Headless(
        tmp_path,
        db_url,
        crypto_key,
        "--poll-interval",
        "0.3",
        extra_env={"BACKUP_JOURNAL": str(journal), "BACKUP_STEP_SECONDS": "0.15"},
    )
    kills = 0
    deadline = time.monotonic() + 50
    try:
        while any(store.get_queue_element(e.id).status is not QueueStatus.DONE for e in elements):
            assert time.monotonic() < deadline, (
                f"not all DONE after {kills} kills:\n{scheduler.text()[-3000:]}"
            )
            if store.get_trigger(trigger.id).process_status is TriggerStatus.FAILED:
                store.set_trigger_status(trigger.id, TriggerStatus.IDLE)  # the admin
            children = _pipeline_children(scheduler) if kills < KILLS else []
            if not children:
                time.sleep(0.05)
                continue
            child = children[0]
            if kills % 2 == 0:
                time.sleep(rng.uniform(0.0, 1.2))
            else:
                # Just after one of its steps started.
                seen = len(_journal(journal))
                until = time.monotonic() + 3
                while time.monotonic() < until and not any(
                    line["pid"] == child.pid and line["event"] == "start"
                    for line in _journal(journal)[seen:]
                ):
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 0.12))
            try:
                os.kill(child.pid, signal.SIGKILL)
                kills += 1
            except ProcessLookupError:
                pass
            with contextlib.suppress(psutil.TimeoutExpired):
                child.wait(5)
    finally:
        scheduler.kill()

    assert kills >= KILLS // 2, f"only {kills} kills landed"
    lines = _journal(journal)
    interrupted = 0
    for element in elements:
        final = store.get_queue_element(element.id)
        assert final.status is QueueStatus.DONE, final.message
        history = store.get_pipeline_history(element.id)
        interrupted += sum(row.outcome == "interrupted" for row in history)
        for step in ("generate", "transfer", "notify"):
            completions = [row for row in history if row.step == step and row.outcome == "done"]
            assert len(completions) == 1, (step, history)
            saved = completions[0].finished_date
            assert saved is not None
            # Nothing of this step started after its completion was saved: not per the
            # database's history, and not per the process's own journal.
            assert all(row.started_date <= saved for row in history if row.step == step)
            ran = [
                datetime.fromtimestamp(line["t"])
                for line in lines
                if line["element"] == str(element.id)
                and line["step"] == step
                and line["event"] == "start"
            ]
            assert ran and all(moment <= saved for moment in ran), (step, ran, saved)
    stats = _get(f"{service}/stats")
    # One transfer and one notification per element, however often steps were retried.
    assert stats["transfers"] == 4 and stats["notifications"] == 4
    print(
        f"{kills} kills, {interrupted} steps interrupted mid-way, "
        f"transfer calls {stats['transfer_calls']}"
    )
    store.close()

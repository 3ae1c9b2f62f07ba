"""`--log-format json` on the three programs, as real subprocesses: every line of their
output parses as one JSON object with the documented keys (issue 29), the events a log
shipper filters on are there with their ids, and secrets stay masked."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from openorch.database import TriggerStatus
from openorch.store import Store
from support.api_server import ApiServer, free_port
from support.headless import Headless
from support.original import OPENORCH_SRC
from support.processes.harness import jobs_of, script, single_due, trigger_status

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")

COMMAND = (sys.executable, "-m", "openorch")
KEYS = {"time", "level", "program", "event", "ids", "message"}


def _objects(text: str, program: str) -> list[dict[str, Any]]:
    """Every non-empty line as a JSON object with exactly the documented keys."""
    objects = []
    for line in text.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)  # a line that is not JSON fails the test here
        assert set(entry) == KEYS, line
        assert entry["program"] == program, line
        assert entry["level"] in {"debug", "info", "warning", "error"}, line
        assert entry["time"].endswith("Z") and "T" in entry["time"], line
        assert isinstance(entry["ids"], dict), line
        objects.append(entry)
    assert objects, "no output at all"
    return objects


def _events(objects: list[dict[str, Any]]) -> list[str]:
    return [entry["event"] for entry in objects]


def test_scheduler_prints_json_lines_with_job_ids(
    sqlite_db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    trigger_id = single_due(store, script("ok.py"), "json logs")
    scheduler = Headless(
        tmp_path, sqlite_db_url, crypto_key, "--name", "json-1", "--log-format", "json"
    )
    try:
        deadline = time.monotonic() + 30
        while trigger_status(store, trigger_id) is not TriggerStatus.DONE:
            assert scheduler.process.poll() is None, scheduler.text()
            assert time.monotonic() < deadline, scheduler.text()
            time.sleep(0.1)
        scheduler.wait_for_output('"job_finished"')
        scheduler.process.send_signal(signal.SIGINT)
        assert scheduler.finish() == 0, scheduler.text()
    finally:
        scheduler.kill()
    (job,) = jobs_of(store, trigger_id)
    store.close()
    objects = _objects(scheduler.text(), "scheduler")
    events = _events(objects)
    for event in ("scheduler_started", "scheduler_registered", "job_started", "job_finished"):
        assert event in events, events
    assert events[-1] == "scheduler_stopped", events
    (started,) = [entry for entry in objects if entry["event"] == "job_started"]
    assert started["ids"] == {"job": str(job.id)} and started["level"] == "info"
    (registered,) = [entry for entry in objects if entry["event"] == "scheduler_registered"]
    assert set(registered["ids"]) == {"run"}
    # The clock of text mode is not repeated in the message: JSON has `time`.
    assert not any(entry["message"][:2].isdigit() for entry in objects), objects
    assert crypto_key not in scheduler.text()


def test_scheduler_refusal_is_one_json_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    scheduler = Headless(tmp_path, url, "not-a-key", "--log-format", "json")
    assert scheduler.finish() == 2
    (entry,) = _objects(scheduler.text(), "scheduler")
    assert entry["level"] == "error" and entry["event"] == "start_failed"
    assert "Invalid AES key" in entry["message"]


def test_api_logs_requests_as_json_with_tokens_masked(sqlite_db_url: str, tmp_path: Path) -> None:
    server = ApiServer(tmp_path, sqlite_db_url, "--log-format", "json")
    secret = "oot_" + "s3cr3t" * 6
    try:
        with server.client() as client:
            client.get("/triggers", params={"access_token": secret})
            client.get("/triggers", headers={"Authorization": f"Bearer {secret}"})
        time.sleep(0.3)
    finally:
        server.stop()
    output = server.text()
    objects = _objects(output, "api")
    events = _events(objects)
    assert events[0] == "api_started", events
    requests = [entry for entry in objects if entry["event"] == "http_request"]
    assert any('"GET /api/v1/triggers' in entry["message"] for entry in requests), requests
    assert any(entry["message"].endswith(" 401") for entry in requests), requests
    assert secret not in output


def test_orchestrator_prints_json_lines(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OpenOrchestrator", "PYTEST", "NICEGUI"))
    }
    env["OPENORCH_HOME"] = str(tmp_path / "home")
    env["PYTHONPATH"] = str(OPENORCH_SRC)
    env["PYTHONUNBUFFERED"] = "1"
    port = free_port()
    output = tmp_path / "orchestrator.txt"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [*COMMAND, "o", "-d", "--port", str(port), "--log-format", "json"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while '"orchestrator_started"' not in output.read_text():
            assert process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code < 500
        process.send_signal(signal.SIGINT)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = output.read_text()
    objects = _objects(text, "orchestrator")
    (started,) = [entry for entry in objects if entry["event"] == "orchestrator_started"]
    assert started["message"] == f"Orchestrator running on http://127.0.0.1:{port}/"
    # The login address holds the random token: in JSON (bound for a log shipper) it is
    # masked, as every token is; docs/operations.md says to set the token yourself.
    login = [entry for entry in objects if "/?token=" in entry["message"]]
    assert login and all("/?token=***" in entry["message"] for entry in login), objects

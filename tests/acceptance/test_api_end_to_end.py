"""The HTTP API end to end: a real `openorch api` server and a real headless Scheduler
on SQLite and PostgreSQL. A run started over HTTP (with its own arguments and the
caller's correlation id) is begun by the Scheduler, its process reports an outcome with
data, and the caller reads it back by correlation id."""

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from openorch.database import ApiScope, JobStatus, TriggerStatus
from openorch.store import Store
from support.api_server import ApiServer
from support.headless import Headless
from support.processes.harness import script


@pytest.fixture
def running(tmp_path: Path) -> Iterator[list[Any]]:
    started: list[Any] = []
    yield started
    for one in started:
        one.stop() if isinstance(one, ApiServer) else one.kill()


def _until_done(client: httpx.Client, correlation_id: str, timeout: float = 40) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        (run,) = client.get("/runs", params={"correlation_id": correlation_id}).json()
        if run["state"] not in ("PENDING", "RUNNING"):
            return run
        assert time.monotonic() < deadline, f"still {run['state']}: {run}"
        time.sleep(0.2)


def test_run_over_http_reports_back_by_correlation_id(
    db_url: str, crypto_key: str, tmp_path: Path, running: list[Any]
) -> None:
    store = Store(db_url, crypto_key=crypto_key)
    # A scheduled trigger not due for a day: only the API makes it run now.
    trigger_id = store.create_scheduled_trigger(
        "invoice run",
        "invoices",
        "0 3 * * *",
        datetime.now() + timedelta(days=1),
        script("report_outcome.py"),
        '{"report": []}',
        False,
        True,
    )
    elsewhere = store.create_single_trigger(
        "elsewhere",
        "invoices",
        datetime.now() + timedelta(days=1),
        script("report_outcome.py"),
        None,
        False,
        False,
        scheduler_whitelist=["other-machine"],
    )
    _token, secret = store.create_api_token("crm", [ApiScope.READ, ApiScope.RUN])
    api = ApiServer(tmp_path, db_url)
    running.append(api)
    running.append(
        Headless(tmp_path, db_url, crypto_key, "--name", "api-worker", "--poll-interval", "0.3")
    )
    client = api.client(secret)

    plan = {"report": [["failure", "first try", None], ["completion", "paid", {"n": 3}]]}
    answer = client.post(
        "/triggers/invoice run/runs",
        json={"process_args": json.dumps(plan), "correlation_id": "case-1001"},
    )
    assert answer.status_code == 202, answer.text
    started = answer.json()
    assert started["state"] == "PENDING" and started["correlation_id"] == "case-1001"
    assert answer.headers["location"] == f"/api/v1/runs/{started['id']}"
    blocked = client.post(f"/triggers/{elsewhere}/runs", json={"correlation_id": "never"})
    assert blocked.status_code == 202

    run = _until_done(client, "case-1001")
    assert run["state"] == "DONE", (run, api.text())
    job = run["job"]
    assert job["outcome"] == "COMPLETED" and job["outcome_message"] == "paid"  # last wins
    assert job["outcome_data"] == {"args": plan, "data": {"n": 3}}  # overridden arguments
    assert job["scheduler_name"] == "api-worker" and job["duration_seconds"] >= 0
    page = client.get("/jobs", params={"correlation_id": "case-1001"}).json()
    assert page["total"] == 1 and page["items"][0]["id"] == job["id"]
    detail = client.get(f"/jobs/{job['id']}").json()
    assert any("report_outcome ran" in log["message"] for log in detail["logs"])

    # A reported failure fails the job although the process exits 0; the trigger goes on.
    plan = {"report": [["failure", "customer unknown", {"customer": 17}]], "exit": 0}
    answer = client.post(
        f"/triggers/{trigger_id}/runs",
        json={"process_args": json.dumps(plan), "correlation_id": "case-1002"},
    )
    assert answer.status_code == 202, answer.text
    run = _until_done(client, "case-1002")
    assert run["state"] == "FAILED" and run["job"]["outcome_data"] == {"customer": 17}
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.IDLE
    assert store.get_jobs(status=JobStatus.FAILED)[0].correlation_id == "case-1002"

    # Exactly once each; the whitelisted trigger was never begun by this Scheduler.
    assert len(store.get_jobs()) == 2
    (never,) = client.get("/runs", params={"correlation_id": "never"}).json()
    assert never["state"] == "PENDING" and never["job"] is None
    assert store.get_trigger(elsewhere).process_status is TriggerStatus.IDLE
    cancelled = client.delete(f"/runs/{never['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "CANCELLED"
    again = client.delete(f"/runs/{run['id']}")  # started: too late to cancel
    assert again.status_code == 422 and "only a PENDING run" in again.json()["detail"]
    audit, total = store.get_api_audit()
    assert total == 4 and {entry.token_name for entry in audit} == {"crm"}
    assert secret not in api.text()
    store.close()

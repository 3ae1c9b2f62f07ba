"""Runs requested over the HTTP API, begun by a real Scheduler engine (real processes,
both backends): the request's arguments and correlation id reach the run, the reported
outcome and the exit code decide the job, and the selection rules (exclusive mode,
blocking) apply to requested runs as to due triggers."""

import json
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from openorch.database import JobOutcome, JobStatus, RunRequestStatus, TriggerStatus
from openorch.sdk.connection import OrchestratorConnection
from openorch.store import Store
from openorch.store.runs.outcomes import decode_outcome_data
from support.processes.harness import job_ended, jobs_of, make_engine, poll_until, script

TOMORROW = datetime.now() + timedelta(days=1)


def _reporting_trigger(store: Store, name: str, **options: object) -> uuid.UUID:
    return store.create_single_trigger(
        name,
        "reporter",
        TOMORROW,
        script("report_outcome.py"),
        '{"report": []}',
        False,
        bool(options.pop("is_blocking", False)),
        **options,  # type: ignore[arg-type]
    )


def test_requested_run_has_its_arguments_and_a_non_zero_exit_fails_it(
    store: Store, db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    trigger_id = _reporting_trigger(store, "not due")
    plan = {"report": [["completion", "all fine", [1, 2]]], "exit": 3}
    request = store.request_run(trigger_id, "crm", json.dumps(plan), "ticket-9")
    engine = make_engine(db_url, crypto_key, store, tmp_path)

    poll_until(engine, lambda: job_ended(store, trigger_id))

    (job,) = jobs_of(store, trigger_id)
    assert job.correlation_id == "ticket-9" and job.outcome is JobOutcome.COMPLETED
    assert decode_outcome_data(job.outcome_data) == {"args": plan, "data": [1, 2]}
    assert job.status is JobStatus.FAILED  # exit 3 wins over the reported completion
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.FAILED
    assert store.get_trigger(trigger_id).process_args == '{"report": []}'
    started = store.get_run_request(request.id)
    assert started.status is RunRequestStatus.STARTED and started.job_id == job.id


def test_exclusive_mode_and_blocking_hold_requested_runs(
    store: Store, db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    open_to_all = _reporting_trigger(store, "open to all")
    request = store.request_run(open_to_all, "crm")
    exclusive = make_engine(db_url, crypto_key, store, tmp_path, exclusive=True)
    for _ in range(3):
        exclusive.poll()
    assert store.get_run_request(request.id).status is RunRequestStatus.PENDING
    assert store.get_jobs() == ()

    nap = store.create_single_trigger(
        "nap",
        "napper",
        datetime.now() - timedelta(seconds=1),
        script("nap.py"),
        "2",
        False,
        False,
    )
    blocking = _reporting_trigger(store, "blocking", is_blocking=True)
    engine = make_engine(db_url, crypto_key, store, tmp_path / "b")
    store.set_trigger_status(open_to_all, TriggerStatus.PAUSED)  # only nap and blocking
    engine.poll()
    assert [job.process_name for job in store.get_jobs()] == ["napper"]
    held = store.request_run(blocking, "crm")
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:  # the nap runs 2 s: the blocking run must wait
        engine.poll()
        time.sleep(0.1)
    assert store.get_run_request(held.id).status is RunRequestStatus.PENDING
    poll_until(engine, lambda: job_ended(store, blocking))
    assert store.get_run_request(held.id).status is RunRequestStatus.STARTED
    assert store.get_jobs(status=JobStatus.RUNNING) == ()
    assert store.get_trigger(nap).process_status is TriggerStatus.DONE


def test_sdk_reports_need_a_job(store: Store, db_url: str, crypto_key: str) -> None:
    job = store.start_job("by sdk", "RPA01")
    with OrchestratorConnection("by sdk", db_url, crypto_key, "", None, job.id) as connection:
        connection.report_failure("first", {"a": 1})
        connection.report_completion("second")
    stored = store.get_job(job.id)
    assert (stored.outcome, stored.outcome_message, stored.outcome_data) == (
        JobOutcome.COMPLETED,
        "second",
        None,
    )
    with OrchestratorConnection("by hand", db_url, crypto_key, "") as by_hand:
        try:
            by_hand.report_failure("nope")
        except RuntimeError as error:
            assert "started without a job id" in str(error)
        else:
            raise AssertionError("report_failure without a job did not raise")
    assert store.get_job(job.id).outcome_message == "second"

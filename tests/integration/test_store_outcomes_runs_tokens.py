"""Run outcomes, run requests and API tokens through the data layer (both backends)."""

import math
import uuid
from datetime import datetime, timedelta

import pytest

from openorch.database import ApiScope, JobOutcome, JobStatus, RunRequestStatus, TriggerStatus
from openorch.store import Store
from openorch.store.runs.outcomes import MAX_OUTCOME_DATA_BYTES, decode_outcome_data


def _trigger(store: Store, name: str = "t", *, scheduled: bool = False) -> uuid.UUID:
    if scheduled:
        return store.create_scheduled_trigger(
            name,
            "proc",
            "0 7 * * *",
            datetime.now() + timedelta(days=1),
            "p.py",
            "a",
            False,
            False,
        )
    return store.create_single_trigger(
        name, "proc", datetime.now() + timedelta(days=1), "p.py", "orig", False, False
    )


def test_reported_outcome_decides_a_clean_exit(store: Store) -> None:
    job = store.start_job("proc", "RPA01")
    store.report_job_outcome(job.id, JobOutcome.FAILED, "no customer", {"id": 7})
    store.report_job_outcome(job.id, "COMPLETED", "done after all", [1, "two", None])
    stored = store.get_job(job.id)
    assert stored.outcome is JobOutcome.COMPLETED and stored.outcome_message == "done after all"
    assert decode_outcome_data(stored.outcome_data) == [1, "two", None]  # last report wins
    store.report_job_outcome(job.id, "FAILED", "broke", None)
    assert store.end_job_after_exit(job.id, 0) is JobStatus.FAILED
    assert store.get_job(job.id).status is JobStatus.FAILED
    assert store.end_job_after_exit(job.id, 0) is None  # already ended

    completed = store.start_job("proc", "RPA01")
    store.report_job_outcome(completed.id, "COMPLETED", "fine", {"n": 1})
    assert store.end_job_after_exit(completed.id, 3) is JobStatus.FAILED  # exit code wins
    silent = store.start_job("proc", "RPA01")
    assert store.end_job_after_exit(silent.id, 0) is JobStatus.DONE
    assert [j.id for j in store.get_jobs(outcome="NONE")] == [silent.id]
    assert {j.id for j in store.get_jobs(outcome=JobOutcome.COMPLETED)} == {completed.id}


@pytest.mark.parametrize(
    ("message", "data", "error"),
    [
        ("", None, "message must not be empty"),
        ("m" * 2001, None, "message is too long"),
        ("ok", {1, 2}, "JSON-serialisable"),
        ("ok", math.nan, "JSON-serialisable"),
        ("ok", "x" * (MAX_OUTCOME_DATA_BYTES + 1), "data is too large"),
        ("ok", object(), "JSON-serialisable"),
    ],
)
def test_bad_outcomes_change_nothing(store: Store, message: str, data: object, error: str) -> None:
    job = store.start_job("proc", "RPA01")
    with pytest.raises(ValueError, match=error):
        store.report_job_outcome(job.id, "COMPLETED", message, data)
    assert store.get_job(job.id).outcome is None
    with pytest.raises(ValueError, match="No job"):
        store.report_job_outcome(uuid.uuid4(), "COMPLETED", "m")


def test_run_request_begins_once_with_its_arguments(store: Store) -> None:
    trigger_id = _trigger(store, scheduled=True)
    request = store.request_run(trigger_id, "crm", "override", "case-42")
    assert request.correlation_id == "case-42"
    ((pending, _joined),) = store.get_pending_run_requests()
    assert pending.id == request.id and pending.process_args == "override"
    job = store.begin_run_request(request.id, "RPA01")
    assert job is not None and job.correlation_id == "case-42"
    assert store.begin_run_request(request.id, "RPA02") is None  # exactly once
    started = store.get_run_request(request.id)
    assert started.status is RunRequestStatus.STARTED and started.job_id == job.id
    assert started.scheduler_name == "RPA01"
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.RUNNING
    assert store.get_pending_run_requests() == ()
    (audit,), total = store.get_api_audit()
    assert total == 1 and audit.token_name == "crm" and "case-42" in (audit.detail or "")


def test_pending_run_can_be_cancelled_once(store: Store) -> None:
    request = store.request_run(_trigger(store), "crm")
    assert store.cancel_run_request(request.id, "ops").status is RunRequestStatus.CANCELLED
    assert store.begin_run_request(request.id, "RPA01") is None
    with pytest.raises(ValueError, match="only a PENDING run"):
        store.cancel_run_request(request.id, "ops")
    with pytest.raises(ValueError, match="No run"):
        store.cancel_run_request(uuid.uuid4(), "ops")
    assert [entry.action for entry in store.get_api_audit()[0]] == ["cancel run", "run trigger"]


def test_run_request_waits_while_its_trigger_runs(store: Store) -> None:
    trigger_id = _trigger(store)
    store.set_trigger_status(trigger_id, TriggerStatus.RUNNING)
    request = store.request_run(trigger_id, "crm")
    assert request.correlation_id == str(request.id)
    assert store.get_pending_run_requests() == ()
    assert store.begin_run_request(request.id, "RPA01") is None
    assert store.get_run_request(request.id).status is RunRequestStatus.PENDING
    assert store.get_trigger(trigger_id).process_status is TriggerStatus.RUNNING
    assert store.get_jobs() == ()


@pytest.mark.parametrize(
    ("status", "args", "correlation", "error"),
    [
        (TriggerStatus.PAUSED, None, None, "is PAUSED"),
        (TriggerStatus.IDLE, "a" * 1001, None, "process_args is too long"),
        (TriggerStatus.IDLE, None, "has space", "correlation_id may hold only"),
        (TriggerStatus.IDLE, None, "", "correlation_id must be 1 to 100"),
    ],
)
def test_bad_run_requests_write_nothing(
    store: Store, status: TriggerStatus, args: str | None, correlation: str | None, error: str
) -> None:
    trigger_id = _trigger(store)
    store.set_trigger_status(trigger_id, status)
    with pytest.raises(ValueError, match=error):
        store.request_run(trigger_id, "crm", args, correlation)
    with pytest.raises(ValueError, match="No trigger"):
        store.request_run(uuid.uuid4(), "crm")
    assert store.get_run_requests() == () and store.get_api_audit()[1] == 0


def test_tokens_are_stored_as_hashes_and_refused_when_revoked_or_expired(store: Store) -> None:
    token, secret = store.create_api_token("crm", [ApiScope.READ, "RUN"])
    assert secret.startswith("oot_") and secret not in repr(token)
    assert token.token_hash != secret and len(token.token_hash) == 64
    assert token.scope_set == {ApiScope.READ, ApiScope.RUN}
    found = store.authenticate_api_token(secret)
    assert found is not None and found.name == "crm"
    assert store.get_api_tokens()[0].last_used_at is not None
    assert store.authenticate_api_token(secret + "x") is None
    assert store.authenticate_api_token("nope") is None
    later = datetime.now() + timedelta(hours=1)
    _short, short_secret = store.create_api_token("short", ["QUEUE_WRITE"], later)
    assert store.authenticate_api_token(short_secret) is not None
    assert store.authenticate_api_token(short_secret, now=later + timedelta(seconds=1)) is None
    store.revoke_api_token(token.id)
    assert store.authenticate_api_token(secret) is None
    with pytest.raises(ValueError, match="already exists"):
        store.create_api_token("crm", ["READ"])
    with pytest.raises(ValueError, match="at least one scope"):
        store.create_api_token("none", [])
    with pytest.raises(ValueError, match="scopes must be one of"):
        store.create_api_token("bad", ["ADMIN"])
    with pytest.raises(ValueError, match="in the future"):
        store.create_api_token("old", ["READ"], datetime.now() - timedelta(days=1))
    assert [t.name for t in store.get_api_tokens()] == ["crm", "short"]

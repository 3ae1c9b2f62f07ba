"""Logs, jobs, constants, credentials and schedulers through the data layer."""

import time
import uuid
from datetime import datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from openorch.crypto import describe_encrypted_password
from openorch.database import JobStatus, LogLevel, TriggerStatus
from openorch.store import Store


def test_log_truncation_keeps_head_and_tail(store: Store) -> None:
    message = "H" * 5000 + "T" * 5000
    store.create_log("proc", LogLevel.INFO, None, message)
    (log,) = store.get_logs()
    assert len(log.log_message) == 8000
    assert log.log_message == "H" * 4000 + "T" * 4000
    store.create_log("proc", "ERROR", None, "x" * 8001)
    assert len(store.get_logs(log_level="ERROR")[0].log_message) == 8000


def test_log_with_bad_characters_is_kept(store: Store) -> None:
    store.create_log("proc", LogLevel.TRACE, None, "nul\x00 and \ud800 and ünïcödé ✓")
    (log,) = store.get_logs()
    assert log.log_message == "nul\ufffd and ? and ünïcödé ✓"


def test_log_filters_paging_and_names(store: Store) -> None:
    job = uuid.uuid4()
    for index in range(5):
        store.create_log("beta", LogLevel.INFO, job, f"b{index}")
    store.create_log("alpha", LogLevel.ERROR, None, "a0")
    store.create_log("gamma", LogLevel.TRACE, None, "g0")
    logs, total = store.get_logs(0, 3, include_count=True)
    assert total == 7 and [log.log_message for log in logs] == ["g0", "a0", "b4"]
    assert [log.log_message for log in store.get_logs(0, 2, process_name="beta")] == ["b4", "b3"]
    assert [log.log_message for log in store.get_logs(log_level=LogLevel.ERROR)] == ["a0"]
    assert len(store.get_logs(job_id=str(job))) == 5
    oldest = store.get_logs(order_desc=False)[0]
    assert oldest.log_message == "b0"
    assert store.get_logs(from_date=datetime.now() + timedelta(minutes=1)) == ()
    assert store.get_unique_log_process_names() == ("alpha", "beta", "gamma")
    with pytest.raises(ValueError, match="process_name is too long"):
        store.create_log("p" * 101, LogLevel.INFO, None, "x")
    with pytest.raises(ValueError, match="level must be one of"):
        store.create_log("p", "WARN", None, "x")
    assert store.get_logs(include_count=True)[1] == 7


def test_jobs_lifecycle(store: Store) -> None:
    job = store.start_job("proc", "RPA01", uuid.uuid4())
    assert job.status == JobStatus.RUNNING and job.end_time is None
    store.set_job_status(job.id, JobStatus.DONE)
    done = store.get_job(job.id)
    assert done.status == JobStatus.DONE and done.end_time is not None
    assert store.end_job(job.id, JobStatus.FAILED) is False  # already ended
    other = store.start_job("other", "RPA02")
    assert [j.id for j in store.get_jobs()] == [other.id, job.id]
    assert [j.id for j in store.get_jobs(status="DONE")] == [job.id]
    assert [j.id for j in store.get_jobs(process_name="other")] == [other.id]
    assert [j.id for j in store.get_jobs(order_by="process_name", order_desc=False)] == [
        other.id,
        job.id,
    ]
    with pytest.raises(ValueError, match="order_by must be one of"):
        store.get_jobs(order_by="secret")
    jobs, total = store.get_jobs(limit=1, include_count=True)
    assert total == 2 and len(jobs) == 1
    with pytest.raises(ValueError, match="No job"):
        store.get_job(uuid.uuid4())


def test_dead_scheduler_jobs_are_failed_with_a_log(store: Store) -> None:
    trigger_id = store.create_single_trigger(
        "t", "proc", datetime.now(), "p.py", "", False, True, 0
    )
    assert store.begin_trigger(trigger_id)
    store.send_ping_from_scheduler("dead-machine")
    dead_job = store.start_job("proc", "dead-machine", trigger_id)
    time.sleep(1.0)
    store.send_ping_from_scheduler("live-machine")
    live_job = store.start_job("proc", "live-machine")

    # Nothing is stale yet at a generous timeout.
    assert store.fail_jobs_of_dead_schedulers(timedelta(hours=1)) == ()
    ended = store.fail_jobs_of_dead_schedulers(timedelta(seconds=0.6))
    assert [job.id for job in ended] == [dead_job.id]
    assert store.get_job(live_job.id).status == JobStatus.RUNNING
    assert store.get_job(dead_job.id).status == JobStatus.FAILED
    assert store.get_trigger(trigger_id).process_status == TriggerStatus.FAILED
    (log,) = store.get_logs(job_id=dead_job.id)
    assert log.log_level == LogLevel.ERROR and "dead-machine" in log.log_message
    assert store.fail_jobs_of_dead_schedulers(timedelta(seconds=0.6)) == ()


def test_constants_crud(store: Store) -> None:
    store.create_constant("url", "https://example.com")
    first = store.get_constant("url")
    store.update_constant("url", "https://example.org")
    changed = store.get_constant("url")
    assert changed.value == "https://example.org" and changed.changed_at >= first.changed_at
    with pytest.raises(ValueError, match="already exists"):
        store.create_constant("url", "other")
    with pytest.raises(ValueError, match="value is too long"):
        store.update_constant("url", "v" * 1001)
    assert store.get_constant("url").value == "https://example.org"
    with pytest.raises(ValueError, match="No constant named 'missing'"):
        store.get_constant("missing")
    store.delete_constant("url")
    assert store.get_constants() == ()


def test_credentials_are_encrypted_and_compatible(store: Store, crypto_key: str) -> None:
    store.create_credential("sap", "robot", "s3cr3t ✓")
    raw = store.get_credential("sap", decrypt_password=False)
    assert "s3cr3t" not in raw.password
    # A token the original would decrypt: plain Fernet under the same key.
    assert Fernet(crypto_key.encode()).decrypt(raw.password.encode()).decode() == "s3cr3t ✓"
    assert store.get_credential("sap").password == "s3cr3t ✓"
    assert describe_encrypted_password(raw.password).endswith("decrypted bytes.")
    assert crypto_key not in repr(store.get_credentials())

    store.update_credential("sap", "robot2", "new")
    assert (store.get_credential("sap").username, store.get_credential("sap").password) == (
        "robot2",
        "new",
    )
    with pytest.raises(ValueError, match="password is too long"):
        store.update_credential("sap", "robot2", "p" * 800)
    with pytest.raises(ValueError, match="already exists"):
        store.create_credential("sap", "u", "p")

    other = Store(store.engine, crypto_key=Fernet.generate_key())
    with pytest.raises(ValueError, match="key does not match"):
        other.get_credential("sap")
    store.delete_credential("sap")
    assert store.get_credentials() == ()


def test_schedulers_heartbeat_and_latest_trigger(store: Store) -> None:
    store.send_ping_from_scheduler("RPA01")
    first = store.get_schedulers()[0]
    store.start_trigger_from_machine("RPA01", "nightly")
    store.send_ping_from_scheduler("RPA02")
    schedulers = store.get_schedulers()
    assert [s.machine_name for s in schedulers] == ["RPA01", "RPA02"]
    assert schedulers[0].latest_trigger == "nightly"
    assert schedulers[0].last_update >= first.last_update
    assert schedulers[1].latest_trigger is None
    with pytest.raises(ValueError, match="machine_name is too long"):
        store.send_ping_from_scheduler("m" * 101)


def test_store_from_engine_leaves_engine_open(store: Store) -> None:
    borrowed = Store(store.engine)
    borrowed.close()
    store.ping()  # still usable: the borrowed store did not dispose it

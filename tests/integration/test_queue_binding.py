"""Elements bound to the job that claimed them, released when it ends; retries,
not-before, deadlines, queue settings and the admin's bulk actions (SQLite, PostgreSQL)."""

import time
import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from openorch.database import JobStatus, QueueStatus
from openorch.store import Store


def _job(store: Store) -> uuid.UUID:
    return store.start_job("robot", "machine").id


def test_claim_binds_the_job_and_its_failure_abandons_the_element(store: Store) -> None:
    element = store.create_queue_element("q", "r1")
    job = _job(store)
    claimed = store.get_next_queue_element("q", job_id=job)
    assert claimed is not None and claimed.id == element.id and claimed.job_id == job
    assert store.end_job(job, JobStatus.FAILED)
    released = store.get_queue_element(element.id)
    assert released.status == QueueStatus.ABANDONED
    assert released.attempts == 1
    assert released.end_date is not None
    assert released.message is not None
    assert str(job) in released.message and "FAILED" in released.message
    assert "ABANDONED after 1 of 1" in released.message
    # Ending it again changes nothing.
    assert not store.end_job(job, JobStatus.DONE)
    assert store.get_queue_element(element.id).message == released.message


def test_release_only_touches_the_jobs_in_progress_elements(store: Store) -> None:
    store.bulk_create_queue_elements("q", ["a", "b", "c", "d"], [None] * 4)
    job, other = _job(store), _job(store)
    a = store.get_next_queue_element("q", job_id=job)
    b = store.get_next_queue_element("q", job_id=job)
    c = store.get_next_queue_element("q", job_id=other)
    d = store.get_next_queue_element("q")  # unbound, as the original claims
    assert a and b and c and d and d.job_id is None
    store.set_queue_element_status(a.id, QueueStatus.DONE, "finished")
    assert store.end_job(job, JobStatus.DONE)  # DONE with b still IN_PROGRESS: a script bug
    assert store.get_queue_element(a.id).status == QueueStatus.DONE
    assert store.get_queue_element(a.id).message == "finished"
    ended_b = store.get_queue_element(b.id)
    assert ended_b.status == QueueStatus.ABANDONED and "ended DONE" in (ended_b.message or "")
    assert store.get_queue_element(c.id).status == QueueStatus.IN_PROGRESS
    assert store.get_queue_element(d.id).status == QueueStatus.IN_PROGRESS


def test_retries_go_back_to_new_after_the_delay_until_attempts_run_out(store: Store) -> None:
    store.set_queue_settings("q", max_attempts=2, retry_delay_seconds=1)
    element = store.create_queue_element("q", "r")
    first = _job(store)
    assert store.get_next_queue_element("q", job_id=first) is not None
    before = datetime.now()
    assert store.end_job(first, JobStatus.KILLED)
    again = store.get_queue_element(element.id)
    assert again.status == QueueStatus.NEW and again.attempts == 1
    assert again.not_before is not None and again.not_before >= before + timedelta(seconds=1)
    assert "ended KILLED" in (again.message or "") and "attempt 2 of 2" in (again.message or "")
    second = _job(store)
    assert store.get_next_queue_element("q", job_id=second) is None  # the delay holds it
    time.sleep(max(0.0, (again.not_before - datetime.now()).total_seconds()) + 0.05)
    claimed = store.get_next_queue_element("q", job_id=second)
    assert claimed is not None and claimed.id == element.id
    store.set_job_status(second, JobStatus.FAILED)  # the original's call ends jobs too
    last = store.get_queue_element(element.id)
    assert last.status == QueueStatus.ABANDONED and last.attempts == 2


def test_reaped_job_releases_its_elements(store: Store) -> None:
    store.set_queue_settings("q", max_attempts=3)
    element = store.create_queue_element("q", "r")
    store.send_ping_from_scheduler("dead-machine")
    job = store.start_job("robot", "dead-machine").id
    assert store.get_next_queue_element("q", job_id=job) is not None
    time.sleep(0.8)  # silent for longer than the timeout below
    reaped = store.fail_jobs_of_dead_schedulers(timedelta(seconds=0.5))
    assert [j.id for j in reaped] == [job]
    released = store.get_queue_element(element.id)
    assert released.status == QueueStatus.NEW and released.attempts == 1
    assert "stopped sending heartbeats" in (released.message or "")
    assert str(job) in (released.message or "")


def test_retry_of_the_element_in_hand(store: Store) -> None:
    store.set_queue_settings("q", max_attempts=2)
    element = store.create_queue_element("q", "r")
    assert store.get_next_queue_element("q") is not None
    assert store.retry_queue_element(element.id, "portal down") == QueueStatus.NEW
    retried = store.get_queue_element(element.id)
    assert (retried.status, retried.attempts) == (QueueStatus.NEW, 1)
    assert (retried.message or "").startswith("portal down")
    assert store.get_next_queue_element("q") is not None
    assert store.retry_queue_element(element.id, "still down") == QueueStatus.FAILED
    failed = store.get_queue_element(element.id)
    assert (failed.status, failed.attempts) == (QueueStatus.FAILED, 2)
    assert failed.end_date is not None
    with pytest.raises(ValueError, match="FAILED, not IN_PROGRESS"):
        store.retry_queue_element(element.id, "again")
    with pytest.raises(ValueError, match="No queue element"):
        store.retry_queue_element(uuid.uuid4())


def test_not_before_defers_and_claim_takes_the_oldest_claimable(store: Store) -> None:
    hour, second = timedelta(hours=1), timedelta(seconds=1)
    later = store.create_queue_element("q", "deferred", not_before=datetime.now() + hour)
    soon = store.create_queue_element("q", "soon", not_before=datetime.now() - second)
    plain = store.create_queue_element("q", "plain")
    assert later.not_before is not None
    order = [store.get_next_queue_element("q"), store.get_next_queue_element("q")]
    assert [e.id for e in order if e] == [soon.id, plain.id]
    assert store.get_next_queue_element("q") is None
    assert store.get_next_queue_element("q", set_status=False) is None
    assert store.get_queue_element(later.id).status == QueueStatus.NEW


def test_deadlines_default_from_settings_and_overdue_views(store: Store) -> None:
    store.set_queue_settings("q", default_deadline_seconds=3600, description="invoices")
    on_time = store.create_queue_element("q", "a")
    assert on_time.deadline is not None
    after_creation = on_time.deadline - on_time.created_date
    assert abs(after_creation - timedelta(hours=1)) < timedelta(seconds=1)
    late = store.create_queue_element("q", "b", deadline=datetime.now() - timedelta(minutes=1))
    result = store.bulk_create_queue_elements("q", ["c", "d"], [None, None])
    assert result.created == 2
    bulk = store.get_queue_elements("q", reference="c")[0]
    assert bulk.deadline is not None and bulk.deadline > datetime.now()
    assert [e.id for e in store.get_queue_elements("q", overdue=True)] == [late.id]
    overview = {line.queue_name: line for line in store.get_queue_overview()}
    assert overview["q"].past_deadline == 1
    assert overview["q"].oldest_new == on_time.created_date
    assert overview["q"].settings is not None and overview["q"].settings.description == "invoices"
    store.set_queue_element_status(late.id, QueueStatus.DONE)
    assert store.get_queue_elements("q", overdue=True) == ()


def test_unique_references_single_and_bulk(store: Store) -> None:
    store.create_queue_element("q", "dup")
    store.create_queue_element("q", "dup")
    with pytest.raises(ValueError, match="'dup'"):
        store.set_queue_settings("q", unique_references=True)
    assert not store.get_queue_settings("q").unique_references
    store.delete_queue_element(store.get_queue_elements("q")[0].id)
    store.set_queue_settings("q", unique_references=True)
    with pytest.raises(ValueError, match="reference 'dup'"):
        store.create_queue_element("q", "dup")
    store.create_queue_element("other", "dup")  # another queue is another namespace
    store.create_queue_element("q", None)
    store.create_queue_element("q", None)  # no reference: nothing to be unique about
    with pytest.raises(ValueError, match=r"'dup', 'x'") as refused:
        store.bulk_create_queue_elements("q", ["new1", "dup", "x", "x"], [None] * 4)
    assert "nothing was created" in str(refused.value)
    assert store.get_queue_elements("q", reference="new1") == ()
    result = store.bulk_create_queue_elements(
        "q", ["new1", "dup", "x", "x"], ["1", "2", "3", "4"], skip_duplicates=True
    )
    assert result.created == 2 and result.skipped == ("dup", "x")
    assert store.get_queue_elements("q", reference="x")[0].data == "3"
    # Deleting an element frees its reference; turning the setting off frees them all.
    store.delete_queue_element(store.get_queue_elements("q", reference="x")[0].id)
    store.create_queue_element("q", "x")
    store.set_queue_settings("q", unique_references=False)
    store.create_queue_element("q", "x")
    assert len(store.get_queue_elements("q", reference="x")) == 2


def test_settings_defaults_and_validation(store: Store) -> None:
    defaults = store.get_queue_settings("never")
    assert (defaults.max_attempts, defaults.retry_delay_seconds) == (1, 0)
    assert not defaults.unique_references and defaults.default_deadline_seconds is None
    for bad in (
        {"max_attempts": 0},
        {"max_attempts": "3"},
        {"retry_delay_seconds": -1},
        {"default_deadline_seconds": 0},
        {"unique_references": "yes"},
        {"description": "d" * 1001},
    ):
        with pytest.raises(ValueError):
            store.set_queue_settings("q", **bad)  # type: ignore[arg-type]
    assert store.get_all_queue_settings() == {}
    saved = store.set_queue_settings("q", max_attempts=3, retry_delay_seconds=timedelta(minutes=2))
    assert saved.retry_delay_seconds == 120
    assert store.get_queue_settings("q").max_attempts == 3


def test_admin_release_and_bulk_actions_on_the_filtered_elements(store: Store) -> None:
    store.bulk_create_queue_elements("q", [f"r{i}" for i in range(6)], [None] * 6)
    stuck = store.get_next_queue_element("q")  # unbound: the original's claim
    assert stuck is not None
    store.update_queue_element(stuck.id, start_date=datetime.now() - timedelta(hours=3))
    assert [
        e.id for e in store.get_queue_elements("q", in_progress_longer_than=timedelta(hours=2))
    ] == [stuck.id]
    assert store.release_queue_element(stuck.id) == QueueStatus.ABANDONED
    released = store.get_queue_element(stuck.id)
    assert "Released by an admin after 3 h" in (released.message or "")
    assert "no recorded job" in (released.message or "")
    with pytest.raises(ValueError, match="not IN_PROGRESS"):
        store.release_queue_element(stuck.id)

    assert store.count_queue_action("retry", "q") == 1
    assert store.apply_queue_action("retry", "q") == 1
    assert store.get_queue_element(stuck.id).status == QueueStatus.NEW
    assert store.count_queue_action("abandon", "q", search_term="r1") == 1
    assert store.apply_queue_action("abandon", "q", search_term="r1") == 1
    assert store.count_queue_action("delete", "q", status="ABANDONED") == 1
    assert store.apply_queue_action("delete", "q", status=QueueStatus.ABANDONED) == 1
    assert len(store.get_queue_elements("q")) == 5
    with pytest.raises(ValueError, match="action must be one of"):
        store.apply_queue_action("explode", "q")
    with pytest.raises(ValueError, match="Unknown filter"):
        store.count_queue_action("delete", "q", colour="red")


def test_claims_are_one_statement_on_the_queue_index(store: Store) -> None:
    """The bound claim stays one UPDATE ... RETURNING statement."""
    store.create_queue_element("q", "r")
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        assert store.get_next_queue_element("q", job_id=uuid.uuid4()) is not None
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)
    queue_statements = [s for s in statements if "Queues" in s]
    assert len(queue_statements) == 1
    assert queue_statements[0].lstrip().upper().startswith("UPDATE")

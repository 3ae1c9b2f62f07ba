"""Every way a job ends releases the queue elements it still holds (issue 14's binding),
including the Scheduler's end of a job by exit code and reported outcome (issue 16's
`end_job_after_exit`), which a pipeline needs to resume after its process was killed."""

from openorch.database import JobOutcome, JobStatus, QueueStatus
from openorch.store import Store


def test_end_job_after_exit_releases_the_jobs_elements(store: Store) -> None:
    store.set_queue_settings("q", max_attempts=2)
    store.bulk_create_queue_elements("q", ["killed", "reported"], [None, None])
    killed_job = store.start_job("robot", "machine").id
    killed = store.get_next_queue_element("q", job_id=killed_job)
    assert killed is not None
    assert store.end_job_after_exit(killed_job, -9) is JobStatus.FAILED
    released = store.get_queue_element(killed.id)
    assert released.status is QueueStatus.NEW and released.attempts == 1
    assert f"Job {killed_job} ended FAILED (" in (released.message or "")
    assert "exit code -9" in (released.message or "")

    # Exit 0 with an element still held (the process forgot it): released all the same.
    done_job = store.start_job("robot", "machine").id
    held = store.get_next_queue_element("q", reference="reported", job_id=done_job)
    assert held is not None
    store.report_job_outcome(done_job, JobOutcome.COMPLETED, "done")
    assert store.end_job_after_exit(done_job, 0) is JobStatus.DONE
    assert store.get_queue_element(held.id).status is QueueStatus.NEW
    # Ending it again changes nothing.
    assert store.end_job_after_exit(done_job, 0) is None
    assert store.get_queue_element(held.id).attempts == 1

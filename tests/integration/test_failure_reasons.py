"""Why a job failed, read by the data layer on both backends: the reason per job and
the filter that finds jobs by it (issue 25)."""

from openorch.database import JobOutcome, LogLevel
from openorch.store import Store
from openorch.store.runs.failures import exit_message, summarize_message

TAIL = (
    "Traceback (most recent call last):\n"
    '  File "x.py", line 1\n'
    "    1/0\n"
    "ZeroDivisionError: division by zero\n"
)


def test_reasons_and_the_failure_filter(store: Store) -> None:
    crash = store.start_job("p", "s")
    store.create_log("p", LogLevel.ERROR, crash.id, "my own error before the crash")
    store.end_job_after_exit(crash.id, 1, exit_message(1, TAIL))
    reported = store.start_job("p", "s")
    store.report_job_outcome(reported.id, JobOutcome.FAILED, "Rejected: 100% wrong")
    store.end_job_after_exit(reported.id, 2, exit_message(2, TAIL))
    done = store.start_job("p", "s")
    store.end_job_after_exit(done.id, 0)

    jobs = store.get_jobs()
    reasons = store.get_failure_reasons(jobs)
    assert reasons == {
        crash.id: "ZeroDivisionError: division by zero · exit 1",
        reported.id: "Rejected: 100% wrong",  # what the process said comes first
    }
    found = {job.id for job in store.get_jobs(failure="ZERODIVISION")}
    assert found == {crash.id, reported.id}  # both crashed with it
    assert {job.id for job in store.get_jobs(failure="100%")} == {reported.id}
    assert store.get_jobs(failure="0%w") == ()  # % is literal, not a wildcard
    assert {job.id for job in store.get_jobs(failure="my own error")} == {crash.id}
    _jobs, total = store.get_jobs(failure="division", include_count=True)
    assert total == 2


def test_summaries_put_the_meaningful_part_first() -> None:
    assert (
        summarize_message(exit_message(1, TAIL))
        == "ZeroDivisionError: division by zero · exit 1 · traceback below"
    )
    assert summarize_message(exit_message(5, "")) == "exit 5, no error output"
    assert summarize_message(exit_message(5, "disk full\n")) == "disk full · exit 5"
    assert summarize_message("plain words") == "plain words"

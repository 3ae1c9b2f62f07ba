"""Against a real SQL Server (cannot run on CI machines): run it by hand with

    export OPENORCH_TEST_MSSQL="mssql+pyodbc://user:pass@server/empty_db?\
    driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes"
    python -m pytest tests/live_mssql.py

The file is not named test_*.py, so the normal run does not collect (or skip) it. The
database must be empty: the test creates openorch's tables in it.
"""

import os
import threading
from collections import Counter
from datetime import datetime, timedelta

import pytest

from openorch import migrate
from openorch.crypto import generate_key
from openorch.database import QueueStatus
from openorch.store import HEAD_REVISION, Store, build_engine

URL = os.environ.get("OPENORCH_TEST_MSSQL", "")


@pytest.fixture(scope="module")
def mssql_store() -> Store:
    if not URL:
        pytest.fail("set OPENORCH_TEST_MSSQL to an empty SQL Server database URL")
    engine = build_engine(URL)
    migrate.upgrade(engine)
    engine.dispose()
    return Store(URL, crypto_key=generate_key())


def test_revision_in_dbo(mssql_store: Store) -> None:
    assert mssql_store.current_revision() == HEAD_REVISION


def test_threads_claim_each_element_once(mssql_store: Store) -> None:
    mssql_store.bulk_create_queue_elements("live", [f"r{i}" for i in range(1000)], [None] * 1000)
    claimed: list[str] = []

    def drain() -> None:
        while (element := mssql_store.get_next_queue_element("live")) is not None:
            mssql_store.set_queue_element_status(element.id, QueueStatus.DONE)
            claimed.append(str(element.id))

    threads = [threading.Thread(target=drain) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 1000 and max(Counter(claimed).values()) == 1


def test_begin_trigger_once(mssql_store: Store) -> None:
    trigger_id = mssql_store.create_single_trigger(
        "live", "p", datetime.now() - timedelta(seconds=1), "p.py", "", False, True, 0
    )
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(mssql_store.begin_trigger(trigger_id)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1


def test_credentials_and_logs(mssql_store: Store) -> None:
    mssql_store.create_credential("live", "user", "pässword")
    assert mssql_store.get_credential("live").password == "pässword"
    mssql_store.create_log("live", "INFO", None, "x" * 9000)
    assert len(mssql_store.get_logs(0, 1, process_name="live")[0].log_message) == 8000


def test_unique_references_race_and_bound_release(mssql_store: Store) -> None:
    """The filtered unique index refuses all but one of racing creators; a bound claim
    is released when its job ends; a deferred element is skipped by the claim."""
    from openorch.database import JobStatus
    from openorch.store import DuplicateReferenceError

    mssql_store.set_queue_settings("mssql-unique", unique_references=True, max_attempts=2)
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def add() -> None:
        barrier.wait(30)
        try:
            mssql_store.create_queue_element("mssql-unique", "same")
            outcomes.append("created")
        except DuplicateReferenceError:
            outcomes.append("refused")

    threads = [threading.Thread(target=add) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert Counter(outcomes) == Counter({"created": 1, "refused": 5})
    result = mssql_store.bulk_create_queue_elements(
        "mssql-unique", ["same", "other"], [None, None], skip_duplicates=True
    )
    assert (result.created, result.skipped) == (1, ("same",))
    mssql_store.create_queue_element(
        "mssql-unique", "later", not_before=datetime.now() + timedelta(hours=1)
    )
    job = mssql_store.start_job("robot", "machine")
    claimed = [mssql_store.get_next_queue_element("mssql-unique", job_id=job.id) for _ in range(3)]
    assert [e.reference for e in claimed if e] == ["same", "other"]
    assert mssql_store.end_job(job.id, JobStatus.FAILED)
    released = mssql_store.get_queue_elements("mssql-unique", status="NEW")
    assert {e.reference for e in released} == {"same", "other", "later"}
    assert all(e.attempts == 1 for e in released if e.reference != "later")

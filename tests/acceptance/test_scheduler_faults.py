"""Faults: several Schedulers racing on one PostgreSQL database, and a database outage
in the middle of a run (a private PostgreSQL server stopped and started again)."""

import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from openorch import migrate
from openorch.database import JobStatus, TriggerStatus
from openorch.store import Store, build_engine
from support.pgcluster import PgCluster, create_database
from support.processes.harness import (
    job_ended,
    jobs_of,
    make_engine,
    poll_until,
    script,
    single_due,
    trigger_status,
)

ENGINES = 4
TRIGGERS = 40


@pytest.mark.postgres
def test_several_schedulers_start_each_due_trigger_exactly_once(
    pg_db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    setup = Store(pg_db_url, crypto_key=crypto_key)
    trigger_ids = [single_due(setup, script("quick.py"), name=f"due-{n}") for n in range(TRIGGERS)]
    barrier = threading.Barrier(ENGINES)
    errors: list[BaseException] = []

    def scheduler(number: int) -> None:
        store = Store(pg_db_url, crypto_key=crypto_key)
        engine = make_engine(
            pg_db_url, crypto_key, store, tmp_path / f"s{number}", name=f"racer-{number}"
        )
        try:
            barrier.wait(30)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                engine.poll()
                idle = [
                    t for t in store.get_single_triggers() if t.process_status is TriggerStatus.IDLE
                ]
                if not idle and not engine.running_jobs and not engine.unreported:
                    return
                time.sleep(0.02)
            raise AssertionError(f"racer-{number} still busy after 90 s")
        except BaseException as error:
            errors.append(error)
        finally:
            store.close()

    threads = [threading.Thread(target=scheduler, args=(n,)) for n in range(ENGINES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors

    jobs = setup.get_jobs()
    per_trigger = Counter(job.trigger_id for job in jobs)
    assert per_trigger == Counter(dict.fromkeys(trigger_ids, 1)), "a trigger ran twice or never"
    assert {job.status for job in jobs} == {JobStatus.DONE}
    assert all(trigger_status(setup, key) is TriggerStatus.DONE for key in trigger_ids)
    assert len({job.scheduler_name for job in jobs}) > 1, "only one Scheduler did any work"
    setup.close()


@pytest.mark.postgres
def test_a_database_outage_loses_no_outcome(
    own_pg: PgCluster, crypto_key: str, tmp_path: Path
) -> None:
    url = create_database(own_pg.server_url)
    engine_for_migration = build_engine(url)
    migrate.upgrade(engine_for_migration)
    engine_for_migration.dispose()
    store = Store(url, crypto_key=crypto_key)
    finishes = single_due(store, script("nap.py"), "1")
    fails = single_due(store, script("fail.py"))
    lines: list[str] = []
    engine = make_engine(url, crypto_key, store, tmp_path, lines)
    engine.poll()
    assert len(engine.running_jobs) == 2

    own_pg.stop_server()
    try:
        deadline = time.monotonic() + 30
        while engine.running_jobs:  # both processes end while the database is down
            engine.poll()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        engine.poll()
        assert not engine.database_ok
        assert engine.unreported == 2
    finally:
        own_pg.resume()

    poll_until(engine, lambda: engine.unreported == 0)
    assert trigger_status(store, finishes) is TriggerStatus.DONE
    assert trigger_status(store, fails) is TriggerStatus.FAILED
    assert job_ended(store, finishes) and jobs_of(store, finishes)[0].status is JobStatus.DONE
    assert jobs_of(store, fails)[0].status is JobStatus.FAILED
    assert any("Database error" in line for line in lines)
    assert any("reachable again" in line for line in lines)
    store.close()

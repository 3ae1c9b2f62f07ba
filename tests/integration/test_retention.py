"""Retention (issue 29): `Store.prune` deletes each kind's rows older than its days in
small batches, keeps every row something still needs, and a dry run counts exactly what
a real run then deletes; on SQLite and PostgreSQL. `openorch prune` as a subprocess."""

import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openorch.database import (
    Alert,
    AlertDelivery,
    ApiAuditEntry,
    Job,
    JobStatus,
    Log,
    LogLevel,
    PipelineRun,
    PipelineStepRun,
    QueueElement,
    QueueStatus,
    RunRequest,
    RunRequestStatus,
)
from openorch.store import Store
from openorch.store.errors import BadInput
from openorch.store.ops.retention import KINDS
from support.original import OPENORCH_SRC

NOW = datetime(2026, 6, 1, 12, 0, 0)
OLD = NOW - timedelta(days=40)
NEW = NOW - timedelta(days=5)


def _ids(store: Store, model: type) -> set[uuid.UUID]:
    with Session(store.engine) as session:
        return set(session.scalars(select(model.id)))


def _fill(store: Store) -> dict[str, uuid.UUID]:
    """Old and new rows of every kind; `keep_*` are old but still needed."""
    named: dict[str, uuid.UUID] = {}

    def add(session: Session, name: str, row: object) -> None:
        session.add(row)
        session.flush()
        named[name] = row.id  # type: ignore[attr-defined]

    with Session(store.engine) as session, session.begin():
        for number in range(5):
            add(
                session,
                f"old_log{number}",
                Log(log_time=OLD, log_level=LogLevel.INFO, process_name="p", log_message="old"),
            )
        add(
            session,
            "new_log",
            Log(log_time=NEW, log_level=LogLevel.INFO, process_name="p", log_message="new"),
        )
        job = dict(process_name="p", scheduler_name="vm1", start_time=OLD)
        add(session, "old_job", Job(**job, end_time=OLD, status=JobStatus.DONE))
        add(session, "keep_running_job", Job(**job, status=JobStatus.RUNNING))
        add(session, "keep_busy_job", Job(**job, end_time=OLD, status=JobStatus.FAILED))
        add(
            session,
            "new_job",
            Job(**{**job, "start_time": NEW}, end_time=NEW, status=JobStatus.DONE),
        )
        element = dict(queue_name="q", created_date=OLD)
        add(session, "old_element", QueueElement(**element, status=QueueStatus.DONE, end_date=OLD))
        add(
            session,
            "old_failed_element",
            QueueElement(**element, status=QueueStatus.FAILED, end_date=OLD),
        )
        add(session, "keep_new_element", QueueElement(**element, status=QueueStatus.NEW))
        add(
            session,
            "keep_claimed_element",
            QueueElement(
                **element,
                status=QueueStatus.IN_PROGRESS,
                start_date=OLD,
                job_id=named["keep_busy_job"],
            ),
        )
        add(session, "new_element", QueueElement(**element, status=QueueStatus.DONE, end_date=NEW))
        for owner in ("old_element", "keep_new_element"):
            session.add(
                PipelineRun(
                    element_id=named[owner],
                    queue_name="q",
                    pipeline="pl",
                    step="s",
                    state="{}",
                    updated_date=OLD,
                )
            )
            session.add(
                PipelineStepRun(
                    element_id=named[owner],
                    pipeline="pl",
                    step="s",
                    part="start",
                    started_date=OLD,
                    finished_date=OLD,
                )
            )
        alert = dict(rule="job_failed", title="t", body="b", opened_at=OLD, attempts=1)
        add(session, "old_alert", Alert(**alert, subject="job:1", closed_at=OLD))
        add(session, "keep_open_alert", Alert(**alert, subject="job:2"))
        for owner in ("old_alert", "keep_open_alert"):
            session.add(
                AlertDelivery(
                    alert_id=named[owner],
                    channel_name="hook",
                    message="opened",
                    created_at=OLD,
                    next_attempt_at=OLD,
                )
            )
        add(session, "old_audit", ApiAuditEntry(time=OLD, token_name="ci", action="a"))
        add(session, "new_audit", ApiAuditEntry(time=NEW, token_name="ci", action="a"))
        request = dict(
            trigger_id=uuid.uuid4(), correlation_id="c", requested_by="ci", requested_at=OLD
        )
        add(session, "old_request", RunRequest(**request, status=RunRequestStatus.STARTED))
        add(session, "keep_pending_request", RunRequest(**request, status=RunRequestStatus.PENDING))
    return named


def test_prune_deletes_old_rows_and_keeps_what_is_needed(store: Store) -> None:
    named = _fill(store)
    counted = {kind: store.prune(kind, 30, dry_run=True, now=NOW).rows for kind in KINDS}
    assert counted == {
        "logs": 5,
        "jobs": 1,
        "queue_elements": 2,
        "alerts": 1,
        "api_audit": 1,
        "run_requests": 1,
    }
    # A dry run deletes nothing.
    assert len(_ids(store, Log)) == 6
    done = {kind: store.prune(kind, 30, now=NOW, batch_size=2, pause=0) for kind in KINDS}
    assert {kind: result.rows for kind, result in done.items()} == counted
    assert done["logs"].batches == 3 and done["logs"].cutoff == NOW - timedelta(days=30)
    # The longest batch's hold (what a claim may wait behind the pruner) is measured.
    assert 0 < done["logs"].longest_hold <= done["logs"].seconds

    def left(model: type) -> set[str]:
        ids = _ids(store, model)
        return {name for name, value in named.items() if value in ids}

    assert left(Log) == {"new_log"}
    assert left(Job) == {"keep_running_job", "keep_busy_job", "new_job"}
    assert left(QueueElement) == {"keep_new_element", "keep_claimed_element", "new_element"}
    assert left(Alert) == {"keep_open_alert"}
    assert left(ApiAuditEntry) == {"new_audit"}
    assert left(RunRequest) == {"keep_pending_request"}
    with Session(store.engine) as session:
        # The deleted element's pipeline progress and history went with it.
        assert set(session.scalars(select(PipelineRun.element_id))) == {named["keep_new_element"]}
        assert set(session.scalars(select(PipelineStepRun.element_id))) == {
            named["keep_new_element"]
        }
        assert set(session.scalars(select(AlertDelivery.alert_id))) == {named["keep_open_alert"]}
    # Nothing older is left: a second run deletes nothing.
    assert all(store.prune(kind, 30, now=NOW).rows == 0 for kind in KINDS)


def _logs_before_now(store: Store, count: int) -> None:
    """`count` logs older than 30 days before NOW."""
    with Session(store.engine) as session, session.begin():
        session.add_all(
            Log(log_time=OLD, log_level=LogLevel.INFO, process_name="p", log_message="old")
            for _ in range(count)
        )


@pytest.mark.parametrize(
    ("hold_target", "batches"),
    [
        # Every batch held longer than the target: 40, then 20, then 10 at a time.
        (0.0, 6),
        # None did: 40 at a time throughout (the last batch short).
        (3600.0, 3),
    ],
)
def test_batches_shrink_when_they_hold_the_lock_too_long(
    store: Store, hold_target: float, batches: int
) -> None:
    _logs_before_now(store, 100)
    done = store.prune("logs", 30, now=NOW, batch_size=40, pause=0, hold_target=hold_target)
    assert (done.rows, done.batches, done.finished) == (100, batches, True)
    assert _ids(store, Log) == set()


def test_prune_refuses_bad_input(store: Store) -> None:
    for kind, days in (("logz", 30), ("logs", 0), ("logs", -1), ("logs", 1.5), ("logs", True)):
        with pytest.raises(BadInput):
            store.prune(kind, days)  # type: ignore[arg-type]
    with pytest.raises(BadInput):
        store.prune("logs", 30, batch_size=0)


def _prune(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OpenOrchestrator")}
    env["OPENORCH_HOME"] = str(home)
    env["PYTHONPATH"] = str(OPENORCH_SRC)
    return subprocess.run(
        [sys.executable, "-m", "openorch", "prune", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_the_prune_command(sqlite_db_url: str, crypto_key: str, tmp_path: Path) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    with Session(store.engine) as session, session.begin():
        old = datetime.now() - timedelta(days=100)
        for _ in range(3):
            session.add(
                Log(log_time=old, log_level=LogLevel.INFO, process_name="p", log_message="x")
            )
        session.add(Log(log_level=LogLevel.INFO, process_name="p", log_message="today"))
    home = tmp_path / "home"

    dry = _prune(home, "--conn", sqlite_db_url, "--keep", "logs=90", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "(dry run)" in dry.stdout and "would delete 3 rows" in dry.stdout
    real = _prune(home, "--conn", sqlite_db_url, "--keep", "logs=90", "--keep", "jobs=365")
    assert real.returncode == 0, real.stderr
    assert "deleted 3 rows in 1 batches" in real.stdout and "jobs" in real.stdout
    with Session(store.engine) as session:
        assert session.execute(select(func.count()).select_from(Log)).scalar_one() == 1
    store.close()

    for bad in (["--keep", "logs=0"], ["--keep", "logz=3"], ["--keep", "logs"]):
        refused = _prune(home, "--conn", sqlite_db_url, *bad)
        assert refused.returncode == 2 and "Nothing was deleted" in refused.stderr, bad
        assert "Traceback" not in refused.stderr
    # Without --keep: the stored policy; an empty one prunes nothing, and says so.
    empty = _prune(home, "--conn", sqlite_db_url)
    assert empty.returncode == 0 and "keeps everything" in empty.stdout, empty.stderr
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    store.set_retention_policy({"api_audit": 7})
    stored = _prune(home, "--conn", sqlite_db_url)
    assert stored.returncode == 0, stored.stderr
    assert "Policy: the stored one (api_audit=7)" in stored.stdout
    assert "api_audit       older than" in stored.stdout and "logs " not in stored.stdout
    runs = store.get_prune_runs()
    store.close()
    # Every run is recorded, the dry one too, newest first.
    assert [(run.dry_run, [view.kind for view in run.kinds]) for run in runs] == [
        (False, ["api_audit"]),
        (False, ["logs", "jobs"]),
        (True, ["logs"]),
    ]
    assert runs[0].run_by.startswith("openorch prune (")
    nothing = _prune(home, "--keep", "logs=3")
    assert nothing.returncode == 2 and "There is no database" in nothing.stderr
    assert not home.exists()


def _old_logs(store: Store, count: int) -> None:
    with Session(store.engine) as session, session.begin():
        for _ in range(count):
            session.add(
                Log(
                    log_time=datetime.now() - timedelta(days=40),
                    log_level=LogLevel.INFO,
                    process_name="p",
                    log_message="old",
                )
            )


def test_only_the_watchdog_lease_holder_prunes(store: Store) -> None:
    """`openorch s --prune logs=30`: the Scheduler holding the watchdog lease is the
    fleet's one pruner; the others never prune; a pass runs once per `prune_every`."""
    from openorch.alerts.watchdog import Watchdog

    said: list[str] = []
    holder = Watchdog(store, "vm1", said.append, interval=30, prune={"logs": 30})
    other = Watchdog(store, "vm2", said.append, interval=30, prune={"logs": 30})
    _old_logs(store, 3)
    store.create_log("p", LogLevel.INFO, None, "today")
    holder.tick()
    assert holder.is_holder
    assert len(_ids(store, Log)) == 1
    # The holder also keeps the job counters: its first tick starts them.
    from openorch.database import OpsState
    from openorch.store.runs.counters import WATERMARK

    with Session(store.engine) as session:
        assert session.get(OpsState, WATERMARK) is not None
    assert "Watchdog: pruned 3 logs older than 30 days." in said

    _old_logs(store, 2)
    other.tick()
    assert not other.is_holder and len(_ids(store, Log)) == 3
    holder.tick()  # the next pass is an hour away
    assert len(_ids(store, Log)) == 3
    holder.prune_every = 0
    holder.tick()
    assert len(_ids(store, Log)) == 1
    assert said.count("Watchdog: pruned 2 logs older than 30 days.") == 1
    holder.stop()
    other.stop()

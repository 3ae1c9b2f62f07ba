"""`openorch s --headless --prune logs=30` as a real process: the Scheduler takes the
watchdog lease and prunes the old logs, saying so (a JSON `prune_run` line)."""

import json
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openorch.database import Log, LogLevel
from openorch.store import Store
from support.headless import Headless


def test_the_lease_holder_prunes(sqlite_db_url: str, crypto_key: str, tmp_path: Path) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    with Session(store.engine) as session, session.begin():
        for _ in range(4):
            session.add(
                Log(
                    log_time=datetime.now() - timedelta(days=31),
                    log_level=LogLevel.INFO,
                    process_name="p",
                    log_message="old",
                )
            )
    store.create_log("p", LogLevel.INFO, None, "recent")

    def logs() -> int:
        with Session(store.engine) as session:
            return int(session.execute(select(func.count()).select_from(Log)).scalar_one())

    scheduler = Headless(
        tmp_path,
        sqlite_db_url,
        crypto_key,
        "--prune",
        "logs=30",
        "--watchdog-interval",
        "2",
        "--log-format",
        "json",
    )
    try:
        scheduler.wait_for_output('"prune_run"', timeout=30)
        assert logs() == 1
        scheduler.process.send_signal(signal.SIGINT)
        assert scheduler.finish() == 0, scheduler.text()
    finally:
        scheduler.kill()
        store.close()
    (line,) = [json.loads(text) for text in scheduler.text().splitlines() if '"prune_run"' in text]
    assert line["message"] == "Watchdog: pruned 4 logs older than 30 days."
    assert line["program"] == "scheduler" and line["level"] == "info"


def test_a_bad_prune_flag_is_refused(tmp_path: Path, sqlite_db_url: str, crypto_key: str) -> None:
    scheduler = Headless(tmp_path, sqlite_db_url, crypto_key, "--prune", "logs=0")
    assert scheduler.finish() == 2
    assert "Days to keep logs must be at least 1, not 0." in scheduler.text()
    assert "Traceback" not in scheduler.text()


def test_the_stored_policy_is_pruned_by_and_recorded(
    sqlite_db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    """No `--prune` flag: the lease holder prunes by the policy stored in the database
    (the Settings tab's) and records the run: who, per kind how many rows."""
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    with Session(store.engine) as session, session.begin():
        for _ in range(3):
            session.add(
                Log(
                    log_time=datetime.now() - timedelta(days=12),
                    log_level=LogLevel.INFO,
                    process_name="p",
                    log_message="old",
                )
            )
    store.set_retention_policy({"logs": 10, "alerts": 10})
    scheduler = Headless(tmp_path, sqlite_db_url, crypto_key, "--watchdog-interval", "2")
    try:
        scheduler.wait_for_output("Watchdog: pruned 3 logs older than 10 days.", timeout=30)
        runs: list = []

        def recorded() -> bool:
            runs[:] = store.get_prune_runs()
            return bool(runs) and runs[0].finished_at is not None

        deadline = time.monotonic() + 10
        while not recorded() and time.monotonic() < deadline:
            time.sleep(0.1)
        scheduler.process.send_signal(signal.SIGINT)
        assert scheduler.finish() == 0, scheduler.text()
    finally:
        scheduler.kill()
        store.close()
    (run,) = runs
    assert f"(pid {scheduler.process.pid}," in run.run_by, run.run_by
    assert run.rows == 3 and not run.dry_run and run.note is None
    assert [(view.kind, view.rows, view.keep_days) for view in run.kinds] == [
        ("logs", 3, 10),
        ("alerts", 0, 10),
    ]

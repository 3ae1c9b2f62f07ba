"""Outgrowing local mode in one command, as an admin does it: local mode's database with
data of every kind, `openorch copy local postgresql+psycopg://...` as a real subprocess,
then the copy read back by the original OpenOrchestrator 3.0.0 (the same as it reads
the local file), and a headless Scheduler running a robot on the copy with local mode's
key (the robot reads the copied credential and constant through the SDK)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from openorch.config import local_settings
from openorch.database import Base, JobStatus, QueueStatus, TriggerStatus
from openorch.store import Store
from support.every_kind import fill_every_table
from support.headless import Headless
from support.original import OPENORCH_SRC, original_venv, run_original

pytestmark = pytest.mark.postgres

#: A password in the target's URL (the test server trusts local logins and ignores it):
#: it must never be printed.
HIDDEN_PASSWORD = "Pw-never-printed-7"


def _copy(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OpenOrchestrator")}
    env["OPENORCH_HOME"] = str(home)
    env["PYTHONPATH"] = str(OPENORCH_SRC)
    return subprocess.run(
        [sys.executable, "-m", "openorch", "copy", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_local_mode_moves_to_postgresql_and_everything_reads_it(
    tmp_path: Path, pg_empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("OPENORCH_HOME", str(home))
    local = local_settings()
    store = Store.open(local.conn_string, local.crypto_key, create=True)
    filled = fill_every_table(store)
    store.close()
    target = sa.make_url(pg_empty_url).set(password=HIDDEN_PASSWORD)
    target_text = target.render_as_string(hide_password=False)

    done = _copy(home, "local", target_text)

    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"Source: local mode's database {local.database_path}" in done.stdout
    tables = len(Base.metadata.sorted_tables)
    assert f"Row counts match in all {tables} tables" in done.stdout
    assert str(home / "openorch.key") in done.stdout
    assert HIDDEN_PASSWORD not in output and local.crypto_key not in output
    assert "postgres:***@" in done.stdout
    # The Scheduler fill_every_table registered looks alive: the admin is warned.
    assert "Warning: the Scheduler(s) old-machine, vm1 sent a heartbeat" in done.stdout

    # Running it again refuses: the target is not empty any more; nothing changes.
    again = _copy(home, "local", target_text)
    assert again.returncode == 2 and "is not empty" in again.stderr
    assert "Nothing was changed" in again.stderr and HIDDEN_PASSWORD not in again.stderr

    # The original OpenOrchestrator 3.0.0 reads the copy exactly as it reads local mode's
    # file: the same ids, times, texts, and the same encrypted passwords, decrypted with
    # the same key.
    original = original_venv()
    on_local = run_original(original, "read_copy.py", local.conn_string, local.crypto_key)
    on_copy = run_original(original, "read_copy.py", pg_empty_url, local.crypto_key)
    assert on_copy == on_local
    assert on_copy["revision ok"] is True
    assert on_copy["mail credential"] == ["robot@example.com", filled.password]
    assert len(on_copy["triggers"]) == 6 and len(on_copy["elements"]["bulk"]) == 3

    # A Scheduler on the copy, with local mode's key, runs the trigger that was due in
    # local mode; its robot reads the copied constant and credential through the SDK.
    copy_store = Store(pg_empty_url, crypto_key=local.crypto_key)
    scheduler = Headless(
        tmp_path, pg_empty_url, local.crypto_key, "--name", "after-copy", "--poll-interval", "0.5"
    )
    try:
        deadline = time.monotonic() + 40
        while copy_store.get_trigger(filled.due_trigger_id).process_status is not (
            TriggerStatus.DONE
        ):
            assert scheduler.process.poll() is None, scheduler.text()
            assert time.monotonic() < deadline, scheduler.text()
            time.sleep(0.1)
        (job,) = copy_store.get_jobs(process_name="test process")
        assert job.status is JobStatus.DONE and job.scheduler_name == "after-copy"
        messages = [log.log_message for log in copy_store.get_logs(0, 50, job_id=job.id)]
        assert "constant=hello from local mode" in messages, messages
        (sent,) = [
            element
            for element in copy_store.get_queue_elements("outbox")
            if element.reference == "ref-1"
        ]
        assert sent.status is QueueStatus.DONE and sent.data == f"len={len(filled.password)}"
        scheduler.process.send_signal(signal.SIGINT)
        assert scheduler.finish() == 0, scheduler.text()
    finally:
        scheduler.kill()
        copy_store.close()


def test_the_command_line_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    """No local database yet, `local` as TARGET, a bad batch size: exit code 2, one
    line, no traceback, nothing created."""
    home = tmp_path / "home"
    target = tmp_path / "new.db"

    nothing = _copy(home, "local", f"sqlite:///{target}")
    assert nothing.returncode == 2, nothing.stderr
    assert "local mode has no database at" in nothing.stderr
    assert str(home / "openorch.db") in nothing.stderr

    backwards = _copy(home, f"sqlite:///{target}", "LOCAL")
    assert backwards.returncode == 2 and "TARGET must be a connection string" in backwards.stderr

    tiny = _copy(home, f"sqlite:///{tmp_path / 'x.db'}", f"sqlite:///{target}", "--batch-size", "0")
    assert tiny.returncode == 2 and "batch size must be at least 1" in tiny.stderr
    for done in (nothing, backwards, tiny):
        assert "Traceback" not in done.stderr
    assert not target.exists() and not (tmp_path / "x.db").exists() and not home.exists()

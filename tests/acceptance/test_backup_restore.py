"""`openorch backup DEST` as an admin runs it, and the restore drill (issue 29):

local mode's database full of every kind of row, another process adding queue elements
as fast as it can, `openorch backup` as a real subprocess in the middle of that; then the
copy and its key put in a fresh local-mode folder (the restore), opened by the
Orchestrator's data layer (key matches, credentials decrypt, the writer's rows a
gap-free prefix: one instant's state), and a headless Scheduler runs the due trigger on
it, its robot reading the restored credential through the SDK.
"""

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openorch.config import local_settings
from openorch.crypto import generate_key
from openorch.database import JobStatus, TriggerStatus
from openorch.store import Store
from support.every_kind import fill_every_table
from support.headless import Headless
from support.original import OPENORCH_SRC

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes and signals")

QUEUE = "backup_drill"

#: Adds one queue element per transaction, references 0, 1, 2, ... in commit order.
WRITER = f"""
import sys
from openorch.store import Store
store = Store(sys.argv[1], crypto_key=sys.argv[2])
number = 0
while True:
    store.create_queue_element({QUEUE!r}, reference=str(number))
    number += 1
    if number == 50:
        print("writing", flush=True)
"""


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OpenOrchestrator")}
    env["OPENORCH_HOME"] = str(home)
    env["PYTHONPATH"] = str(OPENORCH_SRC)
    return env


def _backup(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openorch", "backup", *args],
        capture_output=True,
        text=True,
        env=_env(home),
        timeout=120,
    )


def _references(store: Store) -> list[int]:
    return sorted(int(e.reference or "-1") for e in store.get_queue_elements(QUEUE, limit=10**6))


def test_backup_under_writes_then_restore_and_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("OPENORCH_HOME", str(home))
    local = local_settings()
    store = Store.open(local.conn_string, local.crypto_key, create=True)
    filled = fill_every_table(store)
    store.close()

    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, local.conn_string, local.crypto_key],
        env=_env(home),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
        backups = tmp_path / "backups"
        backups.mkdir()
        done = _backup(home, str(backups))
        time.sleep(0.5)  # the writer goes on after the copy was taken
        assert writer.poll() is None, "the writer died during the backup"
    finally:
        writer.send_signal(signal.SIGTERM)
        writer.wait(20)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "SQLite's check: ok" in done.stdout and "(local mode)" in done.stdout
    assert "Warning: the key decrypts every credential" in done.stderr
    assert local.crypto_key not in done.stdout + done.stderr
    (copy,) = backups.glob("openorch-*.db")
    key_file = copy.with_name(copy.name + ".key")
    assert key_file.read_text().strip() == local.crypto_key
    for written in (copy, key_file):
        assert stat.S_IMODE(written.stat().st_mode) == 0o600, written
    assert sorted(p.name for p in backups.iterdir()) == [copy.name, key_file.name]

    # The restore: the copy and its key become a new machine's local mode.
    restored = tmp_path / "restored"
    (restored / "home").mkdir(parents=True)
    shutil.copyfile(copy, restored / "home" / "openorch.db")
    shutil.copyfile(key_file, restored / "home" / "openorch.key")
    monkeypatch.setenv("OPENORCH_HOME", str(restored / "home"))
    again = local_settings()
    assert again.crypto_key == local.crypto_key

    source = Store(local.conn_string, crypto_key=local.crypto_key)
    all_written = _references(source)
    source.close()
    on_copy = Store.open(again.conn_string, again.crypto_key)
    try:
        assert on_copy.open_warnings == []
        assert on_copy.get_credential("mail").password == filled.password
        references = _references(on_copy)
        # One instant's state: every element committed before it, none after, no gap.
        assert references == list(range(len(references)))
        assert 50 <= len(references) < len(all_written), (len(references), len(all_written))

        scheduler = Headless(restored, None, None, "--name", "restored", "--poll-interval", "0.3")
        try:
            deadline = time.monotonic() + 40
            while on_copy.get_trigger(filled.due_trigger_id).process_status is not (
                TriggerStatus.DONE
            ):
                assert scheduler.process.poll() is None, scheduler.text()
                assert time.monotonic() < deadline, scheduler.text()
                time.sleep(0.1)
            (job,) = on_copy.get_jobs(process_name="test process")
            assert job.status is JobStatus.DONE and job.scheduler_name == "restored"
            scheduler.process.send_signal(signal.SIGINT)
            assert scheduler.finish() == 0, scheduler.text()
        finally:
            scheduler.kill()
    finally:
        on_copy.close()


def test_backup_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    """No database yet, an existing destination, a server database: exit 2, one line,
    no traceback, nothing written."""
    home = tmp_path / "home"
    target = tmp_path / "copy.db"

    nothing = _backup(home, str(target))
    assert nothing.returncode == 2 and "There is no database file at" in nothing.stderr
    assert not target.exists()

    home_settings = tmp_path / "other"
    env_store = Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}", None, create=True)
    env_store.close()
    target.write_text("precious")
    key = generate_key().decode()
    conn = f"sqlite:///{tmp_path / 'db.sqlite'}"
    taken = _backup(home_settings, str(target), "--conn", conn, "--key", key)
    assert taken.returncode == 2, taken.stderr
    assert "already exists" in taken.stderr
    assert target.read_text() == "precious"
    key_taken = _backup(home_settings, str(tmp_path / "new.db"), "--conn", conn, "--key", key)
    assert key_taken.returncode == 0, key_taken.stderr
    (tmp_path / "new.db").unlink()
    taken_key = _backup(home_settings, str(tmp_path / "new.db"), "--conn", conn, "--key", key)
    assert taken_key.returncode == 2 and "new.db.key already exists" in taken_key.stderr
    (tmp_path / "new.db.key").unlink()

    server = _backup(
        home_settings,
        str(tmp_path / "pg.db"),
        "--conn",
        "postgresql+psycopg://robot:Secret-pw-9@db.example/orch",
        "--key",
        key,
    )
    assert server.returncode == 2 and "pg_dump" in server.stderr
    assert "Secret-pw-9" not in server.stderr
    for result in (nothing, taken, taken_key, server):
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "pg.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db", "db.sqlite"]

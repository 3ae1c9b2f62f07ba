"""What a real headless Scheduler prints and leaves behind is safe to look at: tokens in
git URLs are masked in its output and in the Logs table, a trigger name with terminal
escape sequences is printed escaped, and job output files and its folders are
owner-only."""

import os
import signal
import stat
import time
import uuid
from pathlib import Path

import pytest

from openorch.database import LogLevel, TriggerStatus
from openorch.store import Store
from support.headless import Headless
from support.processes.harness import jobs_of, logs_of, script, single_due, trigger_status

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and file modes")

TOKEN = f"tok-{uuid.uuid4().hex}"
BARE_TOKEN = f"ghp_{uuid.uuid4().hex}"
#: A name that would clear the screen, retitle the terminal and paint it red if printed raw.
EVIL_NAME = "evil\x1b[2J\x1b]0;owned\x07\x1b[31mred\rfake line\nnext"


def _finished(store: Store, triggers: list[uuid.UUID]) -> bool:
    return all(
        trigger_status(store, trigger) in (TriggerStatus.DONE, TriggerStatus.FAILED)
        for trigger in triggers
    )


@pytest.mark.slow
def test_tokens_masked_names_escaped_and_files_owner_only(
    sqlite_db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    # Port 1 refuses at once: the clone fails, and git and the Scheduler word the error
    # with the URL in it.
    with_password = single_due(
        store,
        f"https://robot:{TOKEN}@127.0.0.1:1/rpa.git",
        "",
        name=EVIL_NAME,
        is_git_repo=True,
        process_name="cloner",
    )
    bare = single_due(
        store,
        f"https://{BARE_TOKEN}@127.0.0.1:1/rpa.git",
        "",
        is_git_repo=True,
        process_name="cloner",
    )
    robot = single_due(store, script("ok.py"), "hello", process_name="robot")
    scheduler = Headless(tmp_path, sqlite_db_url, crypto_key, "--poll-interval", "0.3")
    try:
        deadline = time.monotonic() + 60
        while not _finished(store, [with_password, bare, robot]):
            assert scheduler.process.poll() is None, scheduler.text()
            assert time.monotonic() < deadline, scheduler.text()
            time.sleep(0.1)
        scheduler.process.send_signal(signal.SIGINT)
        assert scheduler.finish() == 0, scheduler.text()
    finally:
        scheduler.kill()
    output = scheduler.text()

    # Masked in the Scheduler's output ...
    assert trigger_status(store, with_password) is TriggerStatus.FAILED, output
    assert "https://robot:***@127.0.0.1:1/rpa.git" in output, output
    assert "https://***@127.0.0.1:1/rpa.git" in output, output
    assert TOKEN not in output and BARE_TOKEN not in output
    # ... and in the Logs table.
    failures = [
        log
        for trigger in (with_password, bare)
        for log in logs_of(store, jobs_of(store, trigger)[0].id)
    ]
    assert failures and all(log.log_level is LogLevel.ERROR for log in failures)
    assert any("robot:***@" in log.log_message for log in failures), failures
    for log in failures:
        assert TOKEN not in log.log_message and BARE_TOKEN not in log.log_message

    # The name is printed with its control characters escaped: no raw ESC, BEL, CR or
    # newline reaches the terminal, and the reader sees what the name holds.
    assert "\x1b" not in output and "\x07" not in output and "\r" not in output
    assert "evil\\x1b[2J\\x1b]0;owned\\x07\\x1b[31mred\\rfake line\\nnext" in output
    assert not any(line.startswith("next") for line in output.splitlines())

    # Owner-only: the job output files and the Scheduler's folders.
    assert trigger_status(store, robot) is TriggerStatus.DONE, output
    files = list(scheduler.log_dir.iterdir())
    assert files, output
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path, oct(path.stat().st_mode))
    for folder in (scheduler.log_dir, scheduler.home / "scheduler" / "clones"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, (folder, oct(folder.stat().st_mode))
    store.close()

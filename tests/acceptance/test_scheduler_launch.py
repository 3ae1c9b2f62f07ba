"""Launching: git clones from a real local repository, refused git input, the selection
rules (priority, type order, whitelist, exclusive, blocking) and the output files."""

import subprocess
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from openorch.database import (
    JobStatus,
    LogLevel,
    QueueTrigger,
    ScheduledTrigger,
    SingleTrigger,
    Trigger,
    TriggerStatus,
)
from openorch.scheduler import launcher
from openorch.scheduler.launcher import LaunchError
from openorch.scheduler.selection import order_triggers, select_and_begin
from openorch.store import Store
from support.processes.harness import (
    job_ended,
    jobs_of,
    logs_of,
    make_engine,
    poll_until,
    single_due,
    trigger_status,
)

ROBOT = """\
import os
from openorch import OrchestratorConnection

connection = OrchestratorConnection.create_connection_from_args()
connection.log_info("{text}; cwd=" + os.getcwd())
connection.close()
"""


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
        cwd=folder, check=True, capture_output=True,
    )


@pytest.fixture
def robot_repo(tmp_path: Path) -> Path:
    """A repository whose default branch has main.py at the top and whose `feature`
    branch (also tagged v2) has only robot/main.py."""
    repo = tmp_path / "robot-repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "main.py").write_text(ROBOT.format(text="default branch"))
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "default")
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "main.py").unlink()
    (repo / "robot").mkdir()
    (repo / "robot" / "main.py").write_text(ROBOT.format(text="feature branch"))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "feature")
    _git(repo, "tag", "v2")
    _git(repo, "checkout", "-q", "main")
    return repo


@pytest.mark.parametrize(("branch", "expected"), [
    ("feature", "feature branch"),
    ("v2", "feature branch"),
    (None, "default branch"),
])
def test_git_trigger_clones_the_branch_runs_the_first_main_py_and_cleans_up(
    sqlite_db_url: str, crypto_key: str, tmp_path: Path, robot_repo: Path,
    branch: str | None, expected: str,
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    trigger_id = single_due(
        store, f"file://{robot_repo}", is_git_repo=True, git_branch=branch
    )
    engine = make_engine(sqlite_db_url, crypto_key, store, tmp_path)

    poll_until(engine, lambda: job_ended(store, trigger_id))

    assert trigger_status(store, trigger_id) is TriggerStatus.DONE
    (job,) = jobs_of(store, trigger_id)
    (log,) = logs_of(store, job.id)
    assert log.log_message.startswith(expected)
    cwd = Path(log.log_message.split("cwd=", 1)[1])
    assert cwd.is_relative_to(tmp_path / "clones")
    assert cwd.name == ("robot" if branch else cwd.name)
    assert not cwd.exists(), "the clone must be removed when the job ends"
    assert list((tmp_path / "clones").iterdir()) == []
    store.close()


@pytest.mark.parametrize(("url", "branch", "reason"), [
    ("--upload-pack=touch {marker}", None, "starts with '-'"),
    ("-u touch {marker}", None, "starts with '-'"),
    ("file://{repo}", "--upload-pack=touch {marker}", "starts with '-'"),
    ("ext::sh -c touch% {marker}", None, "not an https"),
    ("http://example.invalid/repo.git", None, "transport 'http'"),
    ("file://{repo}", "no-such-branch", "cloning"),
    ("file://{tmp}/no-such-repo", None, "cloning"),
])
def test_refused_or_failed_clones_fail_the_trigger_and_inject_nothing(
    sqlite_db_url: str, crypto_key: str, tmp_path: Path, robot_repo: Path,
    url: str, branch: str | None, reason: str,
) -> None:
    marker = tmp_path / "pwned"
    values = {"marker": marker, "repo": robot_repo, "tmp": tmp_path}
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    trigger_id = single_due(
        store, url.format(**values), is_git_repo=True,
        git_branch=branch.format(**values) if branch else None,
    )
    engine = make_engine(sqlite_db_url, crypto_key, store, tmp_path)
    engine.poll()

    assert trigger_status(store, trigger_id) is TriggerStatus.FAILED
    (job,) = jobs_of(store, trigger_id)
    assert job.status is JobStatus.FAILED
    (log,) = logs_of(store, job.id)
    assert log.log_level is LogLevel.ERROR
    assert "couldn't launch the process" in log.log_message
    assert reason in log.log_message
    assert not marker.exists()
    assert not (tmp_path / "clones").exists() or list((tmp_path / "clones").iterdir()) == []
    store.close()


@pytest.mark.parametrize("url", [
    "https://github.com/org/repo.git",
    "ssh://git@github.com/org/repo.git",
    "git://example.com/repo.git",
    "file:///srv/git/repo.git",
    "git@github.com:org/repo.git",
])
def test_ordinary_git_urls_are_accepted(url: str) -> None:
    launcher.check_git_source(url, "release/1.0")


@pytest.mark.parametrize("url", [
    "", "-oProxyCommand=x", "ext::sh", "fd::17", "http://example.com/r.git",
    "/plain/local/path", "C:\\repos\\robot", "ftp://example.com/r.git", "git@host:\n-x",
])
def test_unusual_git_urls_are_refused(url: str) -> None:
    with pytest.raises(LaunchError):
        launcher.check_git_source(url, None)


def test_script_path_must_be_an_existing_py_file(tmp_path: Path) -> None:
    (tmp_path / "robot.py").write_text("")
    (tmp_path / "notes.txt").write_text("")
    assert launcher.check_script_path(str(tmp_path / "robot.py")).is_absolute()
    for bad in ["", str(tmp_path / "notes.txt"), str(tmp_path / "missing.py"), str(tmp_path)]:
        with pytest.raises(LaunchError):
            launcher.check_script_path(bad)


def test_prune_keeps_the_newest_jobs_and_spares_files_in_use(tmp_path: Path) -> None:
    paths = []
    for number in range(10):
        out = tmp_path / f"20240101-0000{number:02d}_{uuid.uuid4()}.out.txt"
        err = out.with_name(out.name.replace(".out.", ".err."))
        out.write_text("o")
        err.write_text("e")
        paths.append((out, err))
    oldest_out = paths[0][0]
    removed = launcher.prune_logs(tmp_path, 3, lambda path: path == oldest_out)
    assert removed == 13  # 7 old jobs' two files, less the one in use
    left = sorted(path.name for path in tmp_path.iterdir())
    assert len(left) == 7 and oldest_out.name in left


def test_read_tail_reads_the_end_of_a_big_file(tmp_path: Path) -> None:
    path = tmp_path / "err.txt"
    path.write_bytes(b"a" * 5_000_000 + "the end: ünïcödé".encode())
    assert launcher.read_tail(path, 20).endswith("the end: ünïcödé")
    assert len(launcher.read_tail(path, 20)) == 20
    assert launcher.read_tail(tmp_path / "missing", 20) == ""


# --- selection rules (pure) -------------------------------------------------------


def _trigger(kind: type[Trigger], name: str, priority: int = 0, minutes_ago: int = 1,
             blocking: bool = False, whitelist: list[str] | None = None) -> Trigger:
    trigger = kind(id=uuid.uuid4(), trigger_name=name, priority=priority,
                   is_blocking=blocking, process_status=TriggerStatus.IDLE)
    trigger.scheduler_whitelist = whitelist
    if kind is not QueueTrigger:
        trigger.next_run = datetime.now() - timedelta(minutes=minutes_ago)  # type: ignore[attr-defined]
    return trigger


def test_order_is_priority_then_single_scheduled_queue_then_oldest() -> None:
    triggers = [
        _trigger(QueueTrigger, "queue"),
        _trigger(ScheduledTrigger, "scheduled"),
        _trigger(SingleTrigger, "single-new", minutes_ago=1),
        _trigger(SingleTrigger, "single-old", minutes_ago=5),
        _trigger(QueueTrigger, "urgent-queue", priority=10),
        _trigger(ScheduledTrigger, "low", priority=-1),
    ]
    names = [trigger.trigger_name for trigger in order_triggers(triggers)]
    assert names == ["urgent-queue", "single-old", "single-new", "scheduled", "queue", "low"]


def _begin_all(candidates: list[Trigger], **options: object) -> list[str]:
    settings: dict[str, object] = {
        "scheduler_name": "robot-1", "exclusive": False, "running": 0, "blocking_running": False
    }
    settings.update(options)
    begun = select_and_begin(candidates, begin=lambda _t: True, **settings)  # type: ignore[arg-type]
    return [trigger.trigger_name for trigger in begun]


def test_whitelist_and_exclusive_mode() -> None:
    triggers = [
        _trigger(SingleTrigger, "anyone"),
        _trigger(SingleTrigger, "mine", whitelist=["ROBOT-1 ", "robot-2"]),
        _trigger(SingleTrigger, "theirs", whitelist=["robot-2"]),
    ]
    assert sorted(_begin_all(triggers)) == ["anyone", "mine"]
    assert _begin_all(triggers, exclusive=True) == ["mine"]


def test_blocking_rules() -> None:
    blocking = _trigger(SingleTrigger, "blocking", priority=5, blocking=True)
    free = _trigger(SingleTrigger, "free")
    other = _trigger(ScheduledTrigger, "other")
    # Idle machine: the blocking trigger (highest priority) starts alone.
    assert _begin_all([blocking, free, other]) == ["blocking"]
    # Busy machine: the blocking one waits, non-blocking ones start side by side.
    assert _begin_all([blocking, free, other], running=1) == ["free", "other"]
    # A blocking process runs: nothing starts.
    assert _begin_all([free, other], running=1, blocking_running=True) == []
    # Non-blocking work begun first in the same poll makes the machine busy.
    blocking.priority = -5
    assert _begin_all([blocking, free]) == ["free"]


def test_a_trigger_another_scheduler_won_is_skipped() -> None:
    won_elsewhere = _trigger(SingleTrigger, "lost", priority=5, blocking=True)
    free = _trigger(SingleTrigger, "free")
    begun = select_and_begin(
        [won_elsewhere, free], "robot-1", False, 0, False,
        begin=lambda trigger: trigger is not won_elsewhere,
    )
    assert begun == [free]

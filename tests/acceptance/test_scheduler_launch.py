"""Launching for real: git clones from a local repository and refused or failed clones,
through the engine. The pure rules (git input, script paths, output files, selection)
are in tests/unit/test_launcher_rules.py and tests/unit/test_selection.py."""

import subprocess
from pathlib import Path

import pytest

from openorch.database import (
    JobStatus,
    LogLevel,
    TriggerStatus,
)
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
        cwd=folder,
        check=True,
        capture_output=True,
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


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        ("feature", "feature branch"),
        ("v2", "feature branch"),
        (None, "default branch"),
    ],
)
def test_git_trigger_clones_the_branch_runs_the_first_main_py_and_cleans_up(
    sqlite_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    robot_repo: Path,
    branch: str | None,
    expected: str,
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    trigger_id = single_due(store, f"file://{robot_repo}", is_git_repo=True, git_branch=branch)
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


@pytest.mark.parametrize(
    ("url", "branch", "reason"),
    [
        ("--upload-pack=touch {marker}", None, "starts with '-'"),
        ("-u touch {marker}", None, "starts with '-'"),
        ("file://{repo}", "--upload-pack=touch {marker}", "starts with '-'"),
        ("ext::sh -c touch% {marker}", None, "not an https"),
        ("http://example.invalid/repo.git", None, "transport 'http'"),
        ("file://{repo}", "no-such-branch", "cloning"),
        ("file://{tmp}/no-such-repo", None, "cloning"),
    ],
)
def test_refused_or_failed_clones_fail_the_trigger_and_inject_nothing(
    sqlite_db_url: str,
    crypto_key: str,
    tmp_path: Path,
    robot_repo: Path,
    url: str,
    branch: str | None,
    reason: str,
) -> None:
    marker = tmp_path / "pwned"
    values = {"marker": marker, "repo": robot_repo, "tmp": tmp_path}
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    trigger_id = single_due(
        store,
        url.format(**values),
        is_git_repo=True,
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

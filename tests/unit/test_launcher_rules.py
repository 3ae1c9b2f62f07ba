"""The launcher's pure rules: which git sources and script paths are accepted, and how the
per-job output files are pruned and read."""

import uuid
from pathlib import Path

import pytest

from openorch.scheduler import launcher
from openorch.scheduler.launcher import LaunchError


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/org/repo.git",
        "ssh://git@github.com/org/repo.git",
        "git://example.com/repo.git",
        "file:///srv/git/repo.git",
        "git@github.com:org/repo.git",
    ],
)
def test_ordinary_git_urls_are_accepted(url: str) -> None:
    launcher.check_git_source(url, "release/1.0")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "-oProxyCommand=x",
        "ext::sh",
        "fd::17",
        "http://example.com/r.git",
        "/plain/local/path",
        "C:\\repos\\robot",
        "ftp://example.com/r.git",
        "git@host:\n-x",
    ],
)
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

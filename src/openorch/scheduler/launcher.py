"""Turning a trigger into a running process: the script, its argv, its files.

Everything here can fail with `LaunchError`, whose message is what the admin reads in
the ERROR log "the Scheduler couldn't launch the process: ...". The engine turns it into
a FAILED trigger and job; nothing here touches the database.
"""

import contextlib
import os
import re
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from openorch.private_files import open_private, private_dir

#: Transports a trigger's git URL may use. Notably not `ext::` (runs a command) and not
#: plain `http` (credentials and code in clear text).
ALLOWED_GIT_SCHEMES = frozenset({"https", "ssh", "git", "file"})

#: scp-like ssh syntax: `user@host:path` (git's own rule: no slash before the colon).
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:(?!//)[^\s]+$")

#: How much of a process's stderr the ERROR log carries (the log column holds 8000).
STDERR_TAIL_CHARS = 6000


class LaunchError(Exception):
    """The process could not be started; the message says why, for an admin."""


@dataclass
class Launched:
    """A started process and the files the Scheduler must clean up after it."""

    popen: subprocess.Popen[bytes]
    script: Path
    stdout_path: Path
    stderr_path: Path
    clone_path: Path | None = None
    _files: list[BinaryIO] = field(default_factory=list, repr=False)

    def close_files(self) -> None:
        """Close the Scheduler's handles on the output files (the child keeps its own)."""
        for handle in self._files:
            with contextlib.suppress(OSError):
                handle.close()
        self._files.clear()

    def stderr_tail(self, limit: int = STDERR_TAIL_CHARS) -> str:
        """The last `limit` characters the process wrote to stderr."""
        return read_tail(self.stderr_path, limit)

    def cleanup(self) -> None:
        """Close files and remove the clone folder, whatever happened."""
        self.close_files()
        if self.clone_path is not None:
            remove_tree(self.clone_path)


def build_argv(
    python: str,
    script: Path,
    process_name: str,
    conn_string: str,
    crypto_key: str,
    process_args: str | None,
    trigger_id: uuid.UUID | str,
    job_id: uuid.UUID | str,
) -> list[str]:
    """The argv contract: `python script name conn key args trigger_id job_id`."""
    return [
        python,
        str(script),
        process_name,
        conn_string,
        crypto_key,
        process_args or "",
        str(trigger_id),
        str(job_id),
    ]


def check_script_path(path: str) -> Path:
    """An existing `.py` file, as an absolute path.

    Raises:
        LaunchError: the path is empty, missing, a folder, or not a `.py` file.
    """
    if not path or not path.strip():
        raise LaunchError("the trigger has no process path")
    script = Path(path.strip()).expanduser()
    if script.suffix.lower() != ".py":
        raise LaunchError(f"the process path {str(script)!r} is not a .py file")
    if not script.is_file():
        raise LaunchError(f"the process file {str(script)!r} does not exist")
    return script.resolve()


def check_git_source(url: str, branch: str | None) -> None:
    """Refuse URLs and branches that could smuggle options or unsafe transports to git.

    Raises:
        LaunchError: a leading '-', whitespace or control characters, or a transport
            other than https, ssh, git, file (and scp-like user@host:path).
    """
    if not url or not url.strip():
        raise LaunchError("the trigger has no git URL")
    url = url.strip()
    if url.startswith("-"):
        raise LaunchError(f"the git URL {url!r} starts with '-' (refused: option injection)")
    if any(ord(char) < 32 for char in url):
        raise LaunchError("the git URL contains control characters")
    if branch is not None and branch.strip():
        name = branch.strip()
        if name.startswith("-"):
            raise LaunchError(
                f"the git branch {name!r} starts with '-' (refused: option injection)"
            )
        if any(ord(char) <= 32 for char in name):
            raise LaunchError(f"the git branch {name!r} contains spaces or control characters")
    if "://" in url:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ALLOWED_GIT_SCHEMES:
            raise LaunchError(
                f"the git URL uses the transport {scheme!r}; allowed: "
                + ", ".join(sorted(ALLOWED_GIT_SCHEMES))
            )
        return
    if _SCP_LIKE.match(url):
        return
    raise LaunchError(
        f"the git URL {url!r} is not an https://, ssh://, git://, file:// or user@host:path URL"
    )


def clone_repository(url: str, branch: str | None, destination: Path) -> Path:
    """Shallow-clone `url` (at `branch`, a branch or tag, when given) into `destination`.

    Returns `destination`. The folder must not exist yet; a failed clone leaves nothing.

    Raises:
        LaunchError: refused URL or branch, git not installed, or the clone failed.
    """
    check_git_source(url, branch)
    try:
        import git
    except ImportError as error:  # GitPython imports fine but refuses without a git binary
        raise LaunchError(f"git is not available: {error}") from error
    options: dict[str, Any] = {"depth": 1}
    if branch is not None and branch.strip():
        options["branch"] = branch.strip()
    private_dir(destination.parent)  # the clones folder: owner-only (0700)
    # Never wait for a password prompt nobody will answer.
    environment = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
    # A stalled transfer must end: the clone runs inside a poll, and a Scheduler silent
    # for the heartbeat timeout is declared dead by the others. HTTP(S) gives up below
    # 1 KB/s for 60 s; SSH on a dead connection within about a minute.
    environment.update({"GIT_HTTP_LOW_SPEED_LIMIT": "1000", "GIT_HTTP_LOW_SPEED_TIME": "60"})
    if "GIT_SSH_COMMAND" not in os.environ:
        environment["GIT_SSH_COMMAND"] = (
            "ssh -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=15 "
            "-o ServerAliveCountMax=3"
        )
    try:
        git.Repo.clone_from(url.strip(), destination, env=environment, **options).close()
    except git.GitCommandError as error:
        remove_tree(destination)
        detail = (error.stderr or str(error)).strip().replace("\n", " ")
        raise LaunchError(f"cloning {url!r} failed: {detail}") from error
    except (git.GitError, OSError, ValueError) as error:
        remove_tree(destination)
        raise LaunchError(f"cloning {url!r} failed: {error}") from error
    return destination


def find_main_script(folder: Path) -> Path:
    """The first `main.py` in `folder`, top folder first, then subfolders in name order.

    Raises:
        LaunchError: there is none.
    """
    for current, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if name != ".git")
        if "main.py" in files:
            return Path(current) / "main.py"
    raise LaunchError(f"the repository has no main.py (looked in {folder} and its subfolders)")


def start_process(
    argv: list[str], cwd: Path, stdout_path: Path, stderr_path: Path
) -> tuple[subprocess.Popen[bytes], list[BinaryIO]]:
    """Start `argv` in `cwd` with stdout and stderr going to files.

    The process leads its own process group (POSIX) or gets a new one (Windows): a Ctrl-C
    aimed at the Scheduler must not kill the processes it is waiting for, and a kill can
    take the whole group.

    Raises:
        LaunchError: the interpreter or folder is missing, or the OS refused.
    """
    private_dir(stdout_path.parent)
    # Owner-only: a robot's output may hold what it read from a credential.
    out = open_private(stdout_path)
    err = open_private(stderr_path)
    extra: dict[str, Any] = {}
    if os.name == "nt":
        extra["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    else:
        extra["start_new_session"] = True
    try:
        popen = subprocess.Popen(
            argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, **extra
        )
    except OSError as error:
        out.close()
        err.close()
        raise LaunchError(f"starting {argv[0]!r} failed: {error}") from error
    return popen, [out, err]


def output_paths(log_dir: Path, job_id: uuid.UUID | str) -> tuple[Path, Path]:
    """This job's stdout and stderr files; the timestamp first so names sort by age."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = log_dir / f"{stamp}_{job_id}"
    return base.with_name(base.name + ".out.txt"), base.with_name(base.name + ".err.txt")


def prune_logs(log_dir: Path, keep: int, protect: Callable[[Path], bool] = lambda _p: False) -> int:
    """Delete all but the newest `keep` jobs' output files; returns how many were removed.

    `protect` spares files still in use (a running job's), whatever their age.
    """
    if not log_dir.is_dir():
        return 0
    jobs: dict[str, list[Path]] = {}
    for path in log_dir.glob("*.txt"):
        key = path.name.split(".", 1)[0]
        jobs.setdefault(key, []).append(path)
    removed = 0
    for key in sorted(jobs, reverse=True)[keep:]:
        for path in jobs[key]:
            if protect(path):
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
    return removed


def read_tail(path: Path, limit: int) -> str:
    """The last `limit` characters of a text file (read from the end, not all of it)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            # UTF-8 needs at most 4 bytes a character.
            handle.seek(max(0, size - 4 * limit))
            data = handle.read()
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")[-limit:]


def remove_tree(path: Path) -> None:
    """Remove a folder tree, including git's read-only object files on Windows."""

    def make_writable(function: Callable[..., Any], target: str, _info: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(target, stat.S_IWRITE)
            function(target)

    if not path.exists():
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=make_writable)
    else:
        shutil.rmtree(path, onerror=make_writable)


def safe_folder_name(name: str) -> str:
    """A process name made safe as part of a folder name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned[:40] or "process"

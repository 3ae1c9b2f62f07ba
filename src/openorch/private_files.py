"""Folders and files only their owner can read (POSIX modes 0700 and 0600).

Local mode's database and key file together decrypt every credential, and job output
files hold whatever a robot printed: another user of the same machine must not read
them. On POSIX the modes are set explicitly (whatever the umask, and tightened when an
older openorch left a folder 0755 or a file 0644). On Windows the per-user data folder
(`%LOCALAPPDATA%`) is already private through its ACL and these functions only create
what is missing.
"""

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

#: Mode of a private folder: owner only.
FOLDER_MODE = 0o700
#: Mode of a private file: owner read and write.
FILE_MODE = 0o600

_POSIX = os.name == "posix"


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) if needed and make it owner-only; returns it."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    if _POSIX:
        os.chmod(path, FOLDER_MODE)
    return path


def make_private(path: Path) -> None:
    """Make an existing file owner-only (nothing to do when it does not exist)."""
    if _POSIX:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, FILE_MODE)


def create_private(path: Path) -> Path:
    """Create an empty file readable only by its owner unless it exists, and make it so.

    SQLite gives its `-wal` and `-shm` files the mode of the database file, so a
    database created this way before SQLite opens it keeps all three private.

    An existing file is never opened, only `chmod`-ed (which takes no descriptor): this
    process may hold SQLite connections to it, and closing any descriptor of a file drops
    every POSIX lock the process holds on it, after which another process closing the
    database deletes its -wal and -shm under this one's feet (issue 22). `O_EXCL` makes
    the descriptor opened here always a brand-new file's, which no connection can hold.
    """
    path = Path(path)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        pass
    else:
        os.close(descriptor)
    make_private(path)
    return path


def open_private(path: Path) -> BinaryIO:
    """Open `path` for binary writing (truncated), created owner-only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    make_private(path)
    return os.fdopen(descriptor, "wb")


def write_private(path: Path, text: str) -> Path:
    """Write `text` to `path` (UTF-8), the file created owner-only; returns the path."""
    with open_private(path) as handle:
        handle.write(text.encode("utf-8"))
    return path

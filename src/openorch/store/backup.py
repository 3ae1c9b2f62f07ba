"""A consistent copy of a SQLite database while other programs write to it.

SQLite's online backup API (`sqlite3.Connection.backup`) copies the pages under one read
transaction. The whole copy is one step (`pages=-1`): in WAL mode a reader never blocks
writers, so Schedulers and robots keep claiming and logging while the copy runs, and the
copy is the database as it was at one instant. (Copying in several steps would restart
from the first page each time another process writes, and under steady load might never
finish.)

Rules this module keeps, and why:

* The files are only ever touched through `sqlite3`. POSIX record locks belong to the
  process and are dropped when *any* descriptor of the file is closed, so opening and
  closing the database with plain file I/O in a process that holds a SQLite connection to
  it would silently drop SQLite's locks.
* The source is opened with `mode=rw`: a mistyped path is an error, never a new empty
  database.
* The copy is written to a private (0600) temporary file beside the destination and
  renamed into place only when complete and checked, so a half-written copy never has
  the destination's name. Its `-wal` is checkpointed away: the result is one file.
"""

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from openorch.private_files import create_private, make_private
from openorch.store.errors import BackupError, BackupRefused

#: Seconds a backup waits for a lock (a writer in the middle of a checkpoint).
BUSY_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class BackupResult:
    """What was copied: the file written, its size, pages and how long it took."""

    path: Path
    size: int
    pages: int
    seconds: float


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    uri = f"file:{path.as_posix()}?mode={mode}"
    connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
    return connection


def backup_sqlite(source: Path, destination: Path) -> BackupResult:
    """Copy the SQLite database `source` into the new file `destination` (0600).

    Raises:
        BackupRefused: the source is missing, or the destination exists (a backup never
            overwrites one) or its folder does not.
        BackupError: the source is not a database, or the copy failed its check.
    """
    source = Path(source)
    destination = Path(destination)
    if not source.is_file():
        raise BackupRefused(f"There is no database file at {source}.")
    if destination.exists():
        raise BackupRefused(
            f"{destination} already exists: a backup never overwrites a file; "
            "choose a new name or a folder."
        )
    if not destination.parent.is_dir():
        raise BackupRefused(f"The folder {destination.parent} does not exist.")
    partial = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    # Created owner-only before SQLite opens it: SQLite gives -wal and -shm the same mode.
    create_private(partial)
    started = time.monotonic()
    try:
        try:
            reader = _connect(source, "rw")
        except sqlite3.Error as error:
            raise BackupError(f"Cannot open {source}: {error}.") from error
        try:
            writer = _connect(partial, "rw")
            try:
                reader.backup(writer, pages=-1)
                pages = int(writer.execute("PRAGMA page_count").fetchone()[0])
                check = writer.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    raise BackupError(f"The copy failed SQLite's check: {check}.")
                # One self-contained file: fold the WAL (if the copy has one) back in.
                writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                writer.close()
        except sqlite3.DatabaseError as error:
            raise BackupError(f"The backup of {source} failed: {error}.") from error
        finally:
            reader.close()
        if destination.exists():  # made by someone else while we copied
            raise BackupError(f"{destination} appeared during the backup; nothing was replaced.")
        os.replace(partial, destination)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{partial}{suffix}")
    except BaseException:
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)
        raise
    make_private(destination)
    return BackupResult(destination, destination.stat().st_size, pages, time.monotonic() - started)

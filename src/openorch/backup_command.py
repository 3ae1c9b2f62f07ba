"""`openorch backup DEST`: a consistent copy of a SQLite database, and its key beside it.

The copying is the data layer's (`store/backup.py`, SQLite's online backup API); this
module picks the database (--conn, the environment, else local mode), names the files,
writes the key file (owner-only) and says where to keep it. PostgreSQL and SQL Server are
backed up with their own tools (docs/operations.md): the command refuses them and says so.
Exit codes: 0 backed up and checked, 1 the backup failed, 2 refused (nothing written).
"""

import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from openorch.config import data_dir, local_database_path, local_settings, resolve
from openorch.masking import mask
from openorch.private_files import write_private
from openorch.store.backup import backup_sqlite
from openorch.store.errors import BackupError, BackupRefused

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2


def _error(message: str) -> None:
    print(f"openorch backup: error: {mask(message)}", file=sys.stderr)


def backup_name(now: datetime | None = None) -> str:
    """The file name used when DEST is a folder: sortable, one per second."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"openorch-{moment}.db"


def key_path_for(database_copy: Path) -> Path:
    """Where the key is written beside a copy: the copy's name plus `.key`."""
    return database_copy.with_name(database_copy.name + ".key")


def run_backup(
    destination: str, conn: str | None = None, key: str | None = None, *, with_key: bool = True
) -> int:
    """Back up the configured SQLite database to `destination` (a new file, or a folder
    to put a time-stamped file in). Returns the exit code."""
    try:
        settings = resolve(conn, key, allow_local=False)
    except ValueError as error:
        _error(f"{error} Nothing was written.")
        return EXIT_REFUSED
    if settings is None:
        # Local mode, but never create its folder or key just to find nothing to copy.
        if not local_database_path().is_file():
            _error(
                f"There is no database file at {local_database_path()} (local mode's "
                f"folder is {data_dir()}; set OPENORCH_HOME, or give --conn and --key). "
                "Nothing was written."
            )
            return EXIT_REFUSED
        settings = local_settings()
    url = make_url(settings.conn_string)
    if url.get_backend_name() != "sqlite":
        _error(
            f"{url.get_backend_name()} databases are backed up with their own tools "
            "(pg_dump, SQL Server's BACKUP DATABASE); see docs/operations.md. Back up the "
            "encryption key too. Nothing was written."
        )
        return EXIT_REFUSED
    if url.database in (None, "", ":memory:"):
        _error("an in-memory database cannot be backed up. Nothing was written.")
        return EXIT_REFUSED
    source = Path(url.database).expanduser()
    target = Path(destination).expanduser()
    if target.is_dir():
        target = target / backup_name()
    key_file = key_path_for(target)
    if with_key and key_file.exists():
        _error(f"{key_file} already exists: a backup never overwrites a file. Nothing was written.")
        return EXIT_REFUSED
    print(f"Source: {source}" + (" (local mode)" if settings.local else ""))
    try:
        result = backup_sqlite(source, target)
    except BackupRefused as error:
        _error(f"{error} Nothing was written.")
        return EXIT_REFUSED
    except BackupError as error:
        _error(str(error))
        return EXIT_FAILED
    print(
        f"Backed up {result.pages:,} pages ({result.size:,} bytes) to {result.path} "
        f"in {result.seconds:.2f} s; SQLite's check: ok."
    )
    if with_key:
        write_private(key_file, settings.crypto_key + "\n")
        print(f"Key: {key_file} (readable by you only).")
        print(
            "Warning: the key decrypts every credential in the backup. Keep it apart from "
            "the database copy (a password manager or a vault, not the same backup disk "
            "or share); without it the credentials in the copy cannot be read.",
            file=sys.stderr,
        )
    else:
        print(
            "The key was not copied (--no-key): keep it safe elsewhere; without it the "
            "credentials in the copy cannot be read."
        )
    return EXIT_OK

"""Where the connection string and key come from: an explicit value, then the
environment variables the original uses, then zero-configuration local mode.

Local mode keeps a SQLite file and a key file in the per-user data folder
(`platformdirs.user_data_dir("openorch")`, or `OPENORCH_HOME` when set), the key created
once. This module only says *where*; the programs create or upgrade local mode's
database when they open it (`Store.open(..., create=True)`). The folder is 0700 and the
database (with its -wal and -shm files) and key file 0600 on POSIX: together they
decrypt every credential.
"""

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openorch.private_files import make_private, private_dir

ENV_CONN = "OpenOrchestratorConnString"
ENV_KEY = "OpenOrchestratorKey"
ENV_HOME = "OPENORCH_HOME"


@dataclass(frozen=True)
class ConnectionSettings:
    """A connection string and key, and whether they are local mode's."""

    conn_string: str
    crypto_key: str
    local: bool = False
    database_path: Path | None = None
    #: Where the key came from, in words for the admin ("the environment variable ...").
    key_source: str = field(default="", compare=False)


def data_dir() -> Path:
    """The per-user folder for local mode's database, key and Scheduler files."""
    override = os.environ.get(ENV_HOME)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("openorch", appauthor=False))


def local_key(folder: Path | None = None) -> str:
    """Read local mode's key, creating it once with permissions for this user only."""
    from openorch.crypto import generate_key

    folder = private_dir(folder or data_dir())
    path = folder / "openorch.key"
    if not path.exists():
        key = generate_key().decode()
        # O_EXCL: two programs starting at once must not write two different keys.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
    make_private(path)  # an older openorch may have left it readable by others
    return path.read_text(encoding="ascii").strip()


def local_database_path(folder: Path | None = None) -> Path:
    """Where local mode's SQLite file is (it may not exist yet)."""
    return (folder or data_dir()) / "openorch.db"


def local_settings(folder: Path | None = None) -> ConnectionSettings:
    """Local mode: the SQLite file and the key in the per-user folder (key made once).

    The database itself is created by whoever opens it with `Store.open(..., create=True)`.
    """
    folder = private_dir(folder or data_dir())
    database_path = local_database_path(folder)
    key = local_key(folder)
    return ConnectionSettings(
        f"sqlite:///{database_path}",
        key,
        local=True,
        database_path=database_path,
        key_source=f"the key file {folder / 'openorch.key'}",
    )


def resolve(
    conn: str | None = None, key: str | None = None, *, allow_local: bool = True
) -> ConnectionSettings | None:
    """Explicit values win, then the environment, then local mode (when allowed).

    Returns None when nothing is configured and local mode is not allowed. A connection
    string without a key (or the reverse) is not completed from local mode: that would
    pair a server with the wrong key.
    """
    key_source = "the --key option" if key else f"the environment variable {ENV_KEY}"
    conn = conn or os.environ.get(ENV_CONN) or None
    key = key or os.environ.get(ENV_KEY) or None
    if conn or key:
        if conn and key:
            return ConnectionSettings(conn, key, key_source=key_source)
        missing = (
            "encryption key (--key or OpenOrchestratorKey)"
            if conn
            else ("connection string (--conn or OpenOrchestratorConnString)")
        )
        raise ValueError(f"The {missing} is missing: give both, or neither for local mode.")
    if not allow_local:
        return None
    return local_settings()


#: The shape of a Fernet key: urlsafe base64 of 32 bytes (43 characters and one "=").
_FERNET_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}=")

#: What `--key`'s help says, for every program and example that takes one.
KEY_HELP_SUFFIX = " (a key beginning with '-' may be written --key=KEY)"


def join_key_values(argv: Sequence[str], options: Sequence[str] = ("--key",)) -> list[str]:
    """`--key -Abc…=` as `--key=-Abc…=`: argparse takes a value beginning with "-" for
    an option and refuses it, yet about one Fernet key in 64 begins with "-". Only a
    value shaped like a Fernet key is joined, so `--key --conn x` still says a value is
    missing."""
    joined: list[str] = []
    index = 0
    while index < len(argv):
        argument = argv[index]
        following = argv[index + 1] if index + 1 < len(argv) else None
        if (
            argument in options
            and following is not None
            and following.startswith("-")
            and _FERNET_SHAPE.fullmatch(following.strip())
        ):
            joined.append(f"{argument}={following}")
            index += 2
            continue
        joined.append(argument)
        index += 1
    return joined

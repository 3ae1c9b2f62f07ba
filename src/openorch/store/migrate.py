"""Creating and upgrading databases with Alembic, without any files in the current folder.

Part of the data layer (opening a local-mode database and `openorch copy` upgrade through
it); `openorch.migrate` re-exports it under its older name.

The migrations ship inside the wheel (as `openorch/migrations`); in a checkout they are
the top-level `alembic/` folder. Everything here takes an open `Connection` or `Engine`,
so the CLI, the local mode and the tests share one code path.

Two chains share one env.py (see store/revision.py for why):

- `alembic/original/`: copies of OpenOrchestrator 3.0.0's migrations, recorded in
  `alembic_version`. Frozen.
- `alembic/versions/`: openorch's own additive migrations, recorded in `openorch_version`.
  A new migration goes here with `down_revision` = openorch's current head
  (`HEAD_REVISION` in store/core.py, which it then bumps). See docs/database.md.

`upgrade()` first brings the original's chain to its head, then openorch's chain to the
target; a database from before the split (openorch's revision in `alembic_version`) is moved
over first, in the same transaction.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from openorch.database import load_all_models
from openorch.database.filtered_indexes import attach_filtered_indexes
from openorch.database.queues import QueueElement
from openorch.store.core import HEAD_REVISION, ORIGINAL_HEAD_REVISION
from openorch.store.engine import IMMEDIATE
from openorch.store.errors import MigrationsMissing, Unversioned
from openorch.store.revision import (
    OPENORCH_VERSION_TABLE,
    ORIGINAL_REVISIONS,
    ORIGINAL_VERSION_TABLE,
    Revisions,
    read_revisions,
    schema_for,
)

# The model declares them apart (SDK import time); schema work needs them, and every table.
attach_filtered_indexes(QueueElement.__table__)
load_all_models()

#: The original's first revision; a database from before migrations matches it.
LEGACY_REVISION = "b67b7649b282"


@dataclass(frozen=True)
class Chain:
    """One line of migrations: its folder under the script location and its version table."""

    name: str
    folder: str
    version_table: str


#: OpenOrchestrator 3.0.0's migrations (frozen copies), in `alembic_version`.
ORIGINAL = Chain("original", "original", ORIGINAL_VERSION_TABLE)
#: openorch's own migrations, in `openorch_version`.
OPENORCH = Chain("openorch", "versions", OPENORCH_VERSION_TABLE)


def script_location() -> Path:
    """Folder holding env.py, original/ and versions/ (installed package first, then checkout)."""
    installed = Path(__file__).resolve().parents[1] / "migrations"
    if (installed / "env.py").is_file():
        return installed
    checkout = Path(__file__).resolve().parents[3] / "alembic"
    if (checkout / "env.py").is_file():
        return checkout
    raise MigrationsMissing(
        f"openorch's migrations are missing (looked in {installed} and {checkout})."
    )


def alembic_config(chain: Chain = OPENORCH) -> Config:
    """An Alembic config for one chain, independent of the cwd. env.py reads the
    `version_table` option to record the chain in its own table."""
    location = script_location()
    config = Config()
    config.set_main_option("script_location", str(location))
    config.set_main_option("path_separator", "os")  # the folder may contain spaces
    config.set_main_option("version_locations", str(location / chain.folder))
    config.set_main_option("version_table", chain.version_table)
    return config


def _chain_ids(chain: Chain) -> list[str]:
    scripts = ScriptDirectory.from_config(alembic_config(chain))
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def revision_chain() -> list[str]:
    """Every revision id, oldest first: the original's chain, then openorch's."""
    return _chain_ids(ORIGINAL) + _chain_ids(OPENORCH)


def revisions(engine: Engine) -> Revisions:
    """What both version tables hold."""
    with engine.connect() as connection:
        return read_revisions(connection)


def current_revision(engine: Engine) -> str | None:
    """The revision to show: openorch's chain's, else the original's (None: neither)."""
    return revisions(engine).current


def has_tables(bind: Engine | Connection) -> bool:
    """True when the database holds any OpenOrchestrator table."""
    names = set(inspect(bind).get_table_names())
    return bool(names & {"Triggers", "Logs", "Queues", "Constants", "Credentials"})


def detect_revision(engine: Engine) -> str:
    """Guess the original's revision from the shape of an unversioned database."""
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    trigger_columns = (
        {c["name"] for c in inspector.get_columns("Triggers")} if "Triggers" in tables else set()
    )
    if "Jobs" in tables:
        return "1c87ed320c78"
    if "git_branch" in trigger_columns:
        return "9698388a0709"
    if "priority" in trigger_columns:
        return "90d46abd44a3"
    if "Schedulers" in tables:
        return "526b6edac328"
    return LEGACY_REVISION


def _command(connection: Connection, chain: Chain, action: Callable[[Config], None]) -> None:
    config = alembic_config(chain)
    config.attributes["connection"] = connection
    action(config)


def _move_old_layout(connection: Connection) -> None:
    """A database openorch upgraded before the split keeps openorch's revision in
    `alembic_version`: record it in `openorch_version` and put the original's head back."""
    found = read_revisions(connection)
    if not found.old_layout or found.original is None:
        return
    schema = schema_for(connection.dialect.name)
    table = f"{schema}.{ORIGINAL_VERSION_TABLE}" if schema else ORIGINAL_VERSION_TABLE
    connection.execute(
        text(f"UPDATE {table} SET version_num = :head"), {"head": ORIGINAL_HEAD_REVISION}
    )
    openorch_revision = found.original
    _command(connection, OPENORCH, lambda config: command.stamp(config, openorch_revision))


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds SQLite's write lock from BEGIN (BEGIN IMMEDIATE).

    Programs started together on a new local-mode file (`openorch o` and a Scheduler)
    each create the tables. A deferred transaction that reads first and then writes
    fails at once with "database is locked" when another process wrote meanwhile (SQLite
    cannot wait for it: its snapshot is stale); taking the lock first makes the second
    one wait (the busy timeout) and then find the tables made. Other databases ignore
    the option.
    """
    with engine.execution_options(**{IMMEDIATE: True}).begin() as connection:
        yield connection


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` in one transaction where the database allows.

    A revision of the original's chain upgrades only that chain (tests use this to build
    databases as the original left them); "head" or an openorch revision brings the
    original's chain to its head first, then openorch's to `revision`.
    """
    with _locked(engine) as connection:
        _upgrade(connection, revision)


def _upgrade(connection: Connection, revision: str) -> None:
    _move_old_layout(connection)
    if revision in ORIGINAL_REVISIONS:
        _command(connection, ORIGINAL, lambda config: command.upgrade(config, revision))
        return
    original = read_revisions(connection).original
    # A newer original may have moved alembic_version past 3.0.0's head: its migrations
    # are its own business, openorch's chain only adds to the tables.
    if original is None or original in ORIGINAL_REVISIONS:
        _command(connection, ORIGINAL, lambda config: command.upgrade(config, "head"))
    _command(connection, OPENORCH, lambda config: command.upgrade(config, revision))


def stamp(engine: Engine, revision: str) -> None:
    """Record `revision` as current in its chain's version table without running migrations."""
    chain = ORIGINAL if revision in ORIGINAL_REVISIONS else OPENORCH
    with engine.begin() as connection:
        _command(connection, chain, lambda config: command.stamp(config, revision))


def ensure_current(engine: Engine) -> bool:
    """Create or upgrade the database to head when it is empty or versioned and behind.

    Used by local mode. Returns True when something was done. An unversioned database
    with tables is left alone (that needs a person: `openorch upgrade`). The check is
    made again under the write lock, so programs starting together on a new file create
    the tables once and none of them fails (see `_locked`).
    """
    if revisions(engine).openorch == HEAD_REVISION:
        return False  # the usual case: a read, no lock
    with _locked(engine) as connection:
        found = read_revisions(connection)
        if found.openorch == HEAD_REVISION:
            return False
        if found.current is None and has_tables(connection):
            raise Unversioned(
                "The database has tables but no revision: run `openorch upgrade CONN` to "
                "say whether it is new or legacy."
            )
        _upgrade(connection, "head")
    return True

"""Creating and upgrading databases with Alembic, without any files in the current folder.

The migrations ship inside the wheel (as `openorch/migrations`); in a checkout they are
the top-level `alembic/` folder. Everything here takes an open `Connection` or `Engine`,
so the CLI, the local mode and the tests share one code path.
"""

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from openorch.store.core import HEAD_REVISION

#: The original's first revision; a database from before migrations matches it.
LEGACY_REVISION = "b67b7649b282"


def script_location() -> Path:
    """Folder holding env.py and versions/ (installed package first, then checkout)."""
    installed = Path(__file__).resolve().parent / "migrations"
    if (installed / "env.py").is_file():
        return installed
    checkout = Path(__file__).resolve().parents[2] / "alembic"
    if (checkout / "env.py").is_file():
        return checkout
    raise RuntimeError(f"openorch's migrations are missing (looked in {installed} and {checkout}).")


def alembic_config() -> Config:
    """An Alembic config pointing at openorch's migrations, independent of the cwd."""
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    return config


def revision_chain() -> list[str]:
    """Every revision id, oldest first."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def current_revision(engine: Engine) -> str | None:
    """The revision in `alembic_version`, or None when there is none."""
    from alembic.runtime.migration import MigrationContext

    schema = "dbo" if engine.dialect.name == "mssql" else None
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table_schema": schema} if schema else {}
        )
        return context.get_current_revision()


def has_tables(engine: Engine) -> bool:
    """True when the database holds any OpenOrchestrator table."""
    names = set(inspect(engine).get_table_names())
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


def _run(engine: Engine, action: Callable[[Config], None]) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run every migration up to `revision` in one transaction where the database allows."""
    _run(engine, lambda config: command.upgrade(config, revision))


def stamp(engine: Engine, revision: str) -> None:
    """Record `revision` as current without running migrations."""
    _run(engine, lambda config: command.stamp(config, revision))


def ensure_current(engine: Engine) -> bool:
    """Create or upgrade the database to head when it is empty or versioned and behind.

    Used by local mode. Returns True when something was done. An unversioned database
    with tables is left alone (that needs a person: `openorch upgrade`).
    """
    revision = current_revision(engine)
    if revision == HEAD_REVISION:
        return False
    if revision is None and has_tables(engine):
        raise RuntimeError(
            "The database has tables but no revision: run `openorch upgrade CONN` to say "
            "whether it is new or legacy."
        )
    upgrade(engine)
    return True

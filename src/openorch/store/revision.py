"""Which schema revision a database is at: the one way every program reads it.

The schema has two Alembic chains, each with its own version table, so that machines
still on the original OpenOrchestrator 3.0.0 keep working on a database openorch upgraded:

- `alembic_version` holds the original's chain (``b67b7649b282`` … ``1c87ed320c78``). openorch
  never moves it past the original's head, so the original's `check_database_revision()`
  stays True and a future original migration could still apply.
- `openorch_version` holds openorch's own additive chain (``a3f1c0de0001`` and later).

Databases upgraded by openorch before this split have ``a3f1c0de0001`` (an openorch
revision) in `alembic_version` and no `openorch_version`; `migrate.upgrade` moves them
over. openorch's head is `store.core.HEAD_REVISION`. This module only reads (plain SQL,
no Alembic import: the SDK imports it).
"""

from dataclasses import dataclass

from sqlalchemy import Connection, inspect, text

#: The original OpenOrchestrator 3.0.0's chain, oldest first (table `alembic_version`).
#: Frozen: these are copies of the original's migrations.
ORIGINAL_REVISIONS = (
    "b67b7649b282",
    "526b6edac328",
    "90d46abd44a3",
    "9698388a0709",
    "1c87ed320c78",
)

#: The version table of the original's chain.
ORIGINAL_VERSION_TABLE = "alembic_version"

#: The version table of openorch's chain.
OPENORCH_VERSION_TABLE = "openorch_version"


@dataclass(frozen=True)
class Revisions:
    """What the two version tables hold (None: table missing or empty)."""

    original: str | None
    openorch: str | None

    @property
    def old_layout(self) -> bool:
        """True for a database openorch upgraded before the chains were split: an openorch
        revision sits in `alembic_version` and `openorch_version` does not exist yet."""
        return (
            self.openorch is None
            and self.original is not None
            and self.original not in ORIGINAL_REVISIONS
        )

    @property
    def current(self) -> str | None:
        """The one revision to show a person: openorch's when it has one, otherwise the
        original's (or the old layout's openorch revision in `alembic_version`)."""
        return self.openorch or self.original


def schema_for(dialect: str) -> str | None:
    """The schema of the version tables: `dbo` on SQL Server (as the original keeps it)."""
    return "dbo" if dialect == "mssql" else None


def _read_one(connection: Connection, table: str) -> str | None:
    schema = schema_for(connection.dialect.name)
    if not inspect(connection).has_table(table, schema=schema):
        return None
    name = f"{schema}.{table}" if schema else table
    value = connection.execute(text(f"SELECT version_num FROM {name}")).scalar()
    return str(value) if value is not None else None


def read_revisions(connection: Connection) -> Revisions:
    """Read both version tables over `connection`."""
    return Revisions(
        original=_read_one(connection, ORIGINAL_VERSION_TABLE),
        openorch=_read_one(connection, OPENORCH_VERSION_TABLE),
    )

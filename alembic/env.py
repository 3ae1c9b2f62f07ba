"""Alembic environment for openorch, shared by its two migration chains.

- `original/`: copies of OpenOrchestrator 3.0.0's migrations, recorded in `alembic_version`
  (frozen: never add a file here, so the original's `check_database_revision()` stays True).
- `versions/`: openorch's own migrations, recorded in `openorch_version`.

HOW TO ADD A MIGRATION: put it in `versions/` with `down_revision` set to openorch's current
head (`HEAD_REVISION` in src/openorch/store/core.py) and bump `HEAD_REVISION` to the new id.
Additive only (new tables, nullable columns, indexes): the original must keep working on
the database. `alembic revision -m "..."` from the repository root does this (alembic.ini's
default section is openorch's chain). Details in docs/database.md.

Used both by `openorch upgrade` (openorch.store.migrate, which hands over an open connection
through `config.attributes["connection"]` and picks the chain with the `version_locations`
and `version_table` options) and by the `alembic` command run from the repository root with
alembic.ini (`alembic upgrade head` for openorch's chain, `alembic -n original upgrade head`
for the original's, which must come first on a new database).
"""

from alembic import context
from sqlalchemy import Connection

from openorch.database import Base, QueueElement, load_all_models
from openorch.database.filtered_indexes import attach_filtered_indexes
from openorch.store.queues.derived import is_derived
from openorch.store.engine import build_engine

config = context.config
attach_filtered_indexes(QueueElement.__table__)
load_all_models()
target_metadata = Base.metadata
#: Which chain this run records: `alembic_version` (original) or `openorch_version`.
version_table = config.get_main_option("version_table") or "openorch_version"


def _not_a_version_table(name: str | None, type_: str, _parents: object) -> bool:
    """Autogenerate ignores both chains' version tables (the other chain's is no model)
    and the objects triggers keep (store/queues/derived.py)."""
    if is_derived(name, type_):
        return False
    return not (type_ == "table" and name in ("alembic_version", "openorch_version"))


def _configure(connection: Connection) -> None:
    # The original OpenOrchestrator keeps alembic_version in schema dbo on SQL Server.
    schema = "dbo" if connection.dialect.name == "mssql" else None
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=version_table,
        version_table_schema=schema,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_not_a_version_table,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    engine = build_engine(url or config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as new_connection:
        _configure(new_connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        version_table=version_table,
        version_table_schema="dbo" if url.startswith("mssql") else None,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

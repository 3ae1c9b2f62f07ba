"""Alembic environment for openorch.

Used both by `openorch upgrade` (which hands over an open connection through
`config.attributes["connection"]`) and by the `alembic` command run from the repository
root with alembic.ini (which gives `sqlalchemy.url`).
"""

from alembic import context
from sqlalchemy import Connection

from openorch.database import Base
from openorch.store.engine import build_engine

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    # The original OpenOrchestrator keeps alembic_version in schema dbo on SQL Server.
    schema = "dbo" if connection.dialect.name == "mssql" else None
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=schema,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = build_engine(config.get_main_option("sqlalchemy.url") or "")
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
        version_table_schema="dbo" if url.startswith("mssql") else None,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

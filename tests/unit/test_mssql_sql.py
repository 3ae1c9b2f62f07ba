"""SQL Server cannot run here: check the SQL openorch compiles for the mssql dialect.

A module that talks to a real SQL Server runs when OPENORCH_TEST_MSSQL is set
(tests/live_mssql.py, run by hand).
"""

import io

from alembic import command

from openorch import migrate


def mssql_upgrade_sql() -> str:
    """Both chains, in the order `openorch upgrade` runs them."""
    buffer = io.StringIO()
    for chain in (migrate.ORIGINAL, migrate.OPENORCH):
        config = migrate.alembic_config(chain)
        config.set_main_option("sqlalchemy.url", "mssql+pyodbc://")
        config.output_buffer = buffer
        command.upgrade(config, "head", sql=True)
    return buffer.getvalue()


def test_migrations_compile_for_sql_server() -> None:
    sql = mssql_upgrade_sql()
    assert "CREATE TABLE dbo.alembic_version" in sql
    assert "CREATE TABLE dbo.openorch_version" in sql
    assert "CREATE TABLE [Triggers]" in sql
    assert "process_status VARCHAR(7) NOT NULL" in sql  # enum names in plain VARCHAR
    assert "status VARCHAR(11) NOT NULL" in sql
    assert "id UNIQUEIDENTIFIER NOT NULL" in sql
    assert "log_message VARCHAR(8000) NOT NULL" in sql
    assert "ALTER TABLE [Triggers] ADD priority INTEGER NOT NULL DEFAULT 0" in sql
    assert "CREATE INDEX [ix_Queues_queue_name_status_created_date]" in sql
    assert "CREATE TYPE" not in sql and "CHECK" not in sql
    for revision in migrate.revision_chain():
        assert f"'{revision}'" in sql

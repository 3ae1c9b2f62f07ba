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


def test_queue_counts_trigger_compiles_for_sql_server() -> None:
    """Issue 31: one AFTER INSERT, UPDATE, DELETE trigger sums `inserted` minus
    `deleted` per (queue, status) into Queue_Counts; the upgrade backfills; compaction
    is one batch; reads compile; search stays the plain LIKE (no infix full-text)."""
    from sqlalchemy.dialects import mssql as mssql_dialect

    from openorch.store.queues import counts as queue_counts
    from openorch.store.queues import search

    sql = mssql_upgrade_sql()
    assert "CREATE TABLE [Queue_Counts] (\n    queue_name VARCHAR(100) NOT NULL" in sql
    assert "delta BIGINT NOT NULL" in sql
    trigger = sql[sql.index("CREATE TRIGGER queue_counts_change ON [Queues]") :]
    assert trigger.startswith(
        "CREATE TRIGGER queue_counts_change ON [Queues] AFTER INSERT, UPDATE, DELETE AS"
    )
    assert "FROM inserted" in trigger and "FROM deleted" in trigger
    assert "HAVING SUM(delta) <> 0" in trigger
    # Claims (0d22a1e5c001): an updated row now IN_PROGRESS and not before.
    assert "JOIN deleted d ON d.id = i.id" in trigger and "'CLAIMED'" in trigger
    assert (
        "INSERT INTO Queue_Counts (queue_name, status, delta) SELECT queue_name, status, "
        "COUNT(*) FROM Queues GROUP BY queue_name, status"
    ) in sql
    assert sql.index("CREATE TRIGGER queue_counts_change") < sql.index("INSERT INTO Queue_Counts")
    assert "pg_trgm" not in sql and "fts5" not in sql
    assert search.offline_ddl("mssql") == ()
    compact = queue_counts.compact_sql("mssql") or ""
    assert "OUTPUT deleted.queue_name, deleted.status, deleted.delta INTO @gone" in compact
    dialect = mssql_dialect.dialect()
    from sqlalchemy import func, select

    read = str(
        select(queue_counts.QUEUE_COUNTS.c.queue_name, func.sum(queue_counts.QUEUE_COUNTS.c.delta))
        .group_by(queue_counts.QUEUE_COUNTS.c.queue_name)
        .compile(dialect=dialect)
    )
    assert read.startswith("SELECT [Queue_Counts].queue_name, sum([Queue_Counts].delta)")
    assert queue_counts.drop_ddl("mssql") == ("DROP TRIGGER IF EXISTS queue_counts_change",)

"""The row lock a pipeline save takes before checking it still owns its element, as
compiled for each backend (SQL Server ignores FOR UPDATE and needs table hints)."""

import uuid

from sqlalchemy.dialects import mssql, postgresql

from openorch.store.queues.pipelines import element_lock_statement


def test_the_ownership_check_locks_the_element_row_on_every_backend() -> None:
    statement = element_lock_statement(uuid.uuid4())
    on_postgres = str(statement.compile(dialect=postgresql.dialect()))
    on_mssql = str(statement.compile(dialect=mssql.dialect()))
    assert on_postgres.rstrip().endswith("FOR UPDATE")
    assert "SKIP LOCKED" not in on_postgres  # a save waits; it never skips its own element
    assert "[Queues] WITH (UPDLOCK, ROWLOCK)" in on_mssql
    assert "READPAST" not in on_mssql

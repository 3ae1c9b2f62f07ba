"""The SQL of the queue-binding work as SQL Server would get it (no server here), and
the pure helpers."""

from datetime import datetime, timedelta

from sqlalchemy.dialects import mssql
from test_mssql_sql import mssql_upgrade_sql

from openorch.store.queues.claim import claim_statement
from openorch.store.queues.elements import element_filters
from openorch.store.queues.messages import describe_duration


def _mssql(statement: object) -> str:
    return str(statement.compile(dialect=mssql.dialect()))  # type: ignore[attr-defined]


def test_migration_adds_filtered_indexes_that_sql_server_accepts() -> None:
    sql = mssql_upgrade_sql()
    assert (
        "CREATE UNIQUE INDEX [ux_Queues_queue_name_unique_reference] ON [Queues] "
        "(queue_name, unique_reference) WHERE unique_reference IS NOT NULL" in sql
    )
    assert "CREATE INDEX [ix_Queues_job_id] ON [Queues] (job_id) WHERE job_id IS NOT NULL" in sql
    assert "ALTER TABLE [Queues] ADD not_before DATETIME NULL" in sql
    assert "CREATE TABLE [Queue_Settings]" in sql
    assert "unique_references BIT NOT NULL" in sql


def test_sql_server_claim_locks_skips_and_respects_not_before() -> None:
    sql = _mssql(claim_statement("q", now=datetime(2026, 1, 1)))
    assert "WITH (UPDLOCK, ROWLOCK, READPAST)" in sql
    assert "not_before IS NULL OR [Queues].not_before <=" in sql
    assert "ORDER BY [Queues].created_date" in sql
    assert sql.startswith("SELECT TOP")


def test_filters_compile_for_sql_server() -> None:
    from sqlalchemy import select

    from openorch.database import QueueElement

    where = element_filters(
        "q", overdue=True, in_progress_longer_than=timedelta(hours=1), now=datetime(2026, 1, 1)
    )
    sql = _mssql(select(QueueElement.id).where(*where))
    assert "[Queues].deadline <" in sql and "[Queues].start_date <" in sql


def test_durations_read_like_a_person_wrote_them() -> None:
    assert describe_duration(timedelta(seconds=42)) == "42 s"
    assert describe_duration(timedelta(minutes=12, seconds=5)) == "12 min"
    assert describe_duration(timedelta(hours=3, minutes=5)) == "3 h 5 min"
    assert describe_duration(timedelta(days=2, hours=4)) == "2 d 4 h"
    assert describe_duration(timedelta(seconds=-5)) == "0 s"


def test_release_reads_settings_with_an_outer_join_on_sql_server() -> None:
    from openorch.store.queues.lifecycle import _attempts_statement

    sql = _mssql(_attempts_statement())
    assert (
        "LEFT OUTER JOIN [Queue_Settings] ON [Queue_Settings].queue_name = "
        "[Queues].queue_name" in sql
    )

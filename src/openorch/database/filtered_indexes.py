"""The filtered (partial) indexes of revision 0d14a1e5c001 on `Queues`.

Declared apart from the model because their per-dialect options (`sqlite_where`,
`postgresql_where`, `mssql_where`) make SQLAlchemy load those dialects when the index is
built, which would cost every SDK process tens of milliseconds of import time. They are
attached to the table where a schema is created or compared: by `openorch.migrate` and
Alembic's env (migrations, autogenerate comparisons) and, just in time, by `create_all`.
"""

from sqlalchemy import Index, Table, text

#: name -> (columns, unique, the rows it holds)
FILTERED_INDEXES: dict[str, tuple[tuple[str, ...], bool, str]] = {
    # Ending a job finds its elements; bulk inserts (job_id NULL) add no entry.
    "ix_Queues_job_id": (("job_id",), False, "job_id IS NOT NULL"),
    # Counting overdue elements without a scan.
    "ix_Queues_status_deadline": (("status", "deadline"), False, "deadline IS NOT NULL"),
    # One element per reference in queues that ask for it, race-safe everywhere.
    "ux_Queues_queue_name_unique_reference": (
        ("queue_name", "unique_reference"),
        True,
        "unique_reference IS NOT NULL",
    ),
}


def attach_filtered_indexes(table: object) -> None:
    """Add the filtered indexes to the `Queues` table's metadata (once). The table is
    passed in (`QueueElement.__table__`), so this module does not import the model that
    attaches it just in time."""
    assert isinstance(table, Table)
    present = {index.name for index in table.indexes}
    for name, (columns, unique, where) in FILTERED_INDEXES.items():
        if name in present:
            continue
        Index(
            name,
            *(table.c[column] for column in columns),
            unique=unique,
            sqlite_where=text(where),
            postgresql_where=text(where),
            mssql_where=text(where),
        )

"""Each table's rows and size for the Overview, from the database's own statistics, with a
suggested retention for a large table whose kind of data is kept whole (issue 29).

Never a COUNT(*) over a big table: PostgreSQL's `pg_class.reltuples` (kept by
autovacuum/ANALYZE) and `pg_total_relation_size` (table, indexes and TOAST) cost a catalog
read. SQLite has no row statistics unless ANALYZE ran: the estimate is the table's rowid
span, max(rowid) - min(rowid) + 1 (two index seeks; retention deletes the oldest rows, so
the span stays close); its sizes come from the `dbstat` table when SQLite has it and the
file is at most DBSTAT_MAX_BYTES (dbstat walks every page: 2.6-3.4 s for an 850 MB file on
the loaded 2-core build machine), else only
the file's size is known. A table under EXACT_BELOW rows (by the estimate) is counted
exactly. Results are cached per Store for CACHE_SECONDS, so the Overview's refreshes
cost nothing between two readings.
"""

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exc, select, text
from sqlalchemy.orm import Session

from openorch.database import Base, RetentionPolicy, load_all_models
from openorch.store.core import StoreCore
from openorch.store.ops.retention import KINDS
from openorch.store.runs import state

#: Which retention kind prunes which table (tables not named are configuration).
TABLE_KINDS: dict[str, str] = {
    "Logs": "logs",
    "Jobs": "jobs",
    "Queues": "queue_elements",
    "Pipeline_Runs": "queue_elements",
    "Pipeline_Step_History": "queue_elements",
    "Alerts": "alerts",
    "Alert_Deliveries": "alerts",
    "ApiAudit": "api_audit",
    "RunRequests": "run_requests",
}

#: A kind kept whole gets a suggestion once one of its tables passes either bound.
LARGE_ROWS = 1_000_000
LARGE_BYTES = 1_000_000_000

#: What the Overview suggests for a large table whose kind has no policy yet.
SUGGESTED_DAYS: dict[str, int] = {
    "logs": 90,
    "jobs": 365,
    "queue_elements": 180,
    "alerts": 365,
    "api_audit": 365,
    "run_requests": 90,
}

CACHE_SECONDS = 600.0
DBSTAT_MAX_BYTES = 1_000_000_000
EXACT_BELOW = 50_000


@dataclass
class TableSize:
    """One table: rows (an estimate unless `exact`), bytes with its indexes (None:
    unknown here), the retention kind that prunes it, and what retention keeps."""

    table: str
    rows: int | None
    exact: bool
    bytes: int | None
    kind: str | None = None
    keep_days: int | None = None
    suggestion: str | None = None


@dataclass
class TableSizes:
    """Every openorch table, largest first, as read at `read_at`."""

    read_at: datetime
    tables: list[TableSize] = field(default_factory=list)
    #: The whole database (SQLite's file, PostgreSQL's database), when known.
    total_bytes: int | None = None
    #: How the figures were read, for the page's caption.
    method: str = ""


def suggest(tables: list[TableSize], policy: dict[str, int]) -> None:
    """Fill each table's kind, kept days and, for a large table whose kind is kept
    whole, a suggested number of days."""
    for table in tables:
        table.kind = TABLE_KINDS.get(table.table)
        if table.kind is None:
            continue
        table.keep_days = policy.get(table.kind)
        large = (table.rows or 0) >= LARGE_ROWS or (table.bytes or 0) >= LARGE_BYTES
        if table.keep_days is None and large:
            table.suggestion = (
                f"Large and kept whole: consider keeping {table.kind} "
                f"{SUGGESTED_DAYS[table.kind]} days (Settings → Retention)."
            )


def _names() -> list[str]:
    load_all_models()  # every table, not only those mapped so far in this process
    return sorted(Base.metadata.tables)


def _postgres(connection: Connection) -> tuple[list[TableSize], int | None]:
    names = _names()
    rows = connection.execute(
        text(
            "SELECT c.relname, c.reltuples, pg_total_relation_size(c.oid) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' "
            "AND c.relname = ANY(:names)"
        ),
        {"names": names},
    ).all()
    tables = []
    for name, tuples, size in rows:
        estimate = int(tuples) if tuples is not None and tuples >= 0 else None
        tables.append(TableSize(str(name), estimate, False, int(size)))
    total = connection.execute(text("SELECT pg_database_size(current_database())")).scalar()
    return tables, int(total) if total is not None else None


def _sqlite(connection: Connection) -> tuple[list[TableSize], int | None, bool]:
    existing = set(
        connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
        .scalars()
        .all()
    )
    page_size = int(connection.exec_driver_sql("PRAGMA page_size").scalar_one())
    pages = int(connection.exec_driver_sql("PRAGMA page_count").scalar_one())
    total = page_size * pages
    sizes: dict[str, int] | None = None
    if total <= DBSTAT_MAX_BYTES:
        try:
            owner: dict[str, str] = dict(
                connection.exec_driver_sql("SELECT name, tbl_name FROM sqlite_master").all()
            )
            sizes = {}
            for name, size in connection.exec_driver_sql(
                "SELECT name, pgsize FROM dbstat WHERE aggregate = TRUE"
            ).all():
                table = owner.get(name, name)
                sizes[table] = sizes.get(table, 0) + int(size)
        except exc.OperationalError:  # no dbstat in this SQLite build
            sizes = None
    tables = []
    for name in _names():
        if name not in existing:
            continue
        quoted = '"' + name.replace('"', '""') + '"'
        span = connection.exec_driver_sql(
            f"SELECT (SELECT max(rowid) FROM {quoted}) - (SELECT min(rowid) FROM {quoted}) + 1"
        ).scalar()
        tables.append(TableSize(name, int(span or 0), False, sizes.get(name, 0) if sizes else None))
    return tables, total, sizes is not None


def _exact_small(connection: Connection, tables: list[TableSize], dialect: str) -> None:
    """Count the small tables exactly (cheap), so a handful of rows shows as such."""
    for table in tables:
        if table.rows is not None and table.rows >= EXACT_BELOW:
            continue
        if table.rows is None and (table.bytes or 0) > 64 * 1024 * 1024:
            continue
        quoted = '"' + table.table.replace('"', '""') + '"'
        table.rows = int(connection.exec_driver_sql(f"SELECT count(*) FROM {quoted}").scalar_one())
        table.exact = True


class TableSizeStore(StoreCore):
    """Table sizes for the Overview, cached."""

    _size_lock = threading.Lock()

    def get_table_sizes(self, *, max_age: float = CACHE_SECONDS) -> TableSizes:
        """Every openorch table's rows and size, largest first (cached `max_age` s)."""
        with self._size_lock:
            cached: tuple[float, TableSizes] | None = self.__dict__.get("_size_cache")
            if cached is not None and time.monotonic() - cached[0] < max_age:
                return cached[1]
        dialect = self.dialect

        def work(session: Session) -> TableSizes:
            connection = session.connection()
            read_at = state.database_now(connection)
            if dialect == "postgresql":
                tables, total = _postgres(connection)
                method = "PostgreSQL's statistics (reltuples, pg_total_relation_size)"
            elif dialect == "sqlite":
                tables, total, with_sizes = _sqlite(connection)
                method = "rowid span" + (
                    ", sizes from dbstat" if with_sizes else "; sizes per table not read"
                )
            else:
                tables, total, method = [], None, "not available on this database"
            _exact_small(connection, tables, dialect)
            try:  # last: on PostgreSQL a failed statement ends the transaction
                policy: dict[str, Any] = dict(
                    session.execute(select(RetentionPolicy.kind, RetentionPolicy.keep_days)).all()
                )
            except (exc.ProgrammingError, exc.OperationalError):  # not upgraded yet
                policy = {}
            suggest(tables, {kind: int(days) for kind, days in policy.items() if kind in KINDS})
            tables.sort(key=lambda table: (-(table.bytes or 0), -(table.rows or 0), table.table))
            return TableSizes(read_at, tables, total, method)

        sizes = self._read(work)
        with self._size_lock:
            self.__dict__["_size_cache"] = (time.monotonic(), sizes)
        return sizes

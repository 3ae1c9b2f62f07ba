"""Queue counts kept by the database itself: per queue and status, exact, without a scan.

Why triggers: the original OpenOrchestrator 3.0.0 writes `Queues` directly (a mixed
fleet keeps running it), and so do admins with raw SQL. Only the database sees every
write, so triggers on `Queues` record each change of a (queue, status) count in
`Queue_Counts`, in the writer's own transaction: the counts are exact whoever writes.

Why delta rows: a counter row per (queue, status) updated by every claim would
serialise 32 claimers of one queue on that row (each waits for the previous claim's
commit). Instead each change appends rows `(queue_name, status, delta)`: inserts never
wait for one another. A read sums them (`read_counts`); compaction (`compact`) replaces
all rows with one per (queue, status) in one statement, so the table stays a few hundred
rows. The lease-holding Scheduler's watchdog compacts every tick, and a read that summed
more than `COMPACT_ABOVE` rows compacts after itself.

Per backend:

- PostgreSQL: INSERT and DELETE use statement-level triggers with transition tables
  (a bulk insert of 100,000 elements adds one row per (queue, status), not 100,000);
  UPDATE uses a row-level trigger that fires only when the status or queue changes (a
  claim adds three: the two counts and one claim, below). TRUNCATE empties the counts.
- SQLite: row-level triggers (SQLite has no statement triggers); one writer at a time,
  so nothing contends.
- SQL Server: one statement-level trigger over `inserted`/`deleted` (emitted by the
  migration; its SQL is checked compiled, see tests/unit/test_queue_counts_sql.py).

A database without the triggers (made by `create_all`, or an older revision) is
counted the original way (GROUP BY): `counts_maintained` decides, checked once a minute.

Claims are counted by the same triggers (since revision 0d22a1e5c001): a row whose
status becomes IN_PROGRESS from another adds a delta row `(queue, 'CLAIMED', 1)` (a
pseudo-status, never a count of elements: the reads below leave it out). Compaction sums
it like the rest, so `read_claims` is every claim since the upgrade, whoever claimed (the
original's Schedulers too), for `/metrics`. It costs a claim one more small row in the
same insert, not another statement.
"""

import logging
import time

from sqlalchemy import BigInteger, Column, Connection, MetaData, String, Table, func, select

from openorch.database import QueueStatus
from openorch.store.core import StoreCore

log = logging.getLogger(__name__)

#: The table of count deltas. Not part of the models' metadata on purpose: it is derived
#: from `Queues` (`openorch copy` must not copy it; the target's triggers rebuild it), and
#: it exists only where the migration made it together with its triggers.
COUNTS_TABLE = "Queue_Counts"

counts_metadata = MetaData()

QUEUE_COUNTS = Table(
    COUNTS_TABLE,
    counts_metadata,
    Column("queue_name", String(100), nullable=False),
    Column("status", String(11), nullable=False),
    Column("delta", BigInteger, nullable=False),
)

#: The pseudo-status of the delta rows that count claims.
CLAIMED = "CLAIMED"

#: A read that summed more rows than this compacts the table afterwards.
COMPACT_ABOVE = 5000

#: How long a Store trusts what it found out about the triggers, in seconds.
RECHECK_SECONDS = 60.0

#: Trigger names per dialect (checked by `counts_maintained`).
TRIGGERS: dict[str, tuple[str, ...]] = {
    "sqlite": ("queue_counts_insert", "queue_counts_delete", "queue_counts_update"),
    "postgresql": (
        "queue_counts_insert",
        "queue_counts_delete",
        "queue_counts_update",
        "queue_counts_truncate",
    ),
    "mssql": ("queue_counts_change",),
}

_SQLITE_DDL = (
    """CREATE TRIGGER queue_counts_insert AFTER INSERT ON "Queues"
BEGIN
  INSERT INTO "Queue_Counts" (queue_name, status, delta) VALUES (NEW.queue_name, NEW.status, 1);
END""",
    """CREATE TRIGGER queue_counts_delete AFTER DELETE ON "Queues"
BEGIN
  INSERT INTO "Queue_Counts" (queue_name, status, delta) VALUES (OLD.queue_name, OLD.status, -1);
END""",
    """CREATE TRIGGER queue_counts_update AFTER UPDATE OF status, queue_name ON "Queues"
WHEN OLD.status IS NOT NEW.status OR OLD.queue_name IS NOT NEW.queue_name
BEGIN
  INSERT INTO "Queue_Counts" (queue_name, status, delta)
  SELECT OLD.queue_name, OLD.status, -1 UNION ALL SELECT NEW.queue_name, NEW.status, 1
  UNION ALL SELECT NEW.queue_name, 'CLAIMED', 1
  WHERE NEW.status = 'IN_PROGRESS' AND OLD.status IS NOT 'IN_PROGRESS';
END""",
)

# CAST(... AS VARCHAR): a database the original made with native enum types stores the
# status as an enum, which has no assignment cast to VARCHAR.
_POSTGRESQL_DDL = (
    """CREATE OR REPLACE FUNCTION openorch_queue_counts_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "Queue_Counts" (queue_name, status, delta)
  SELECT queue_name, CAST(status AS VARCHAR(11)), COUNT(*) FROM queue_counts_new
  GROUP BY queue_name, status;
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION openorch_queue_counts_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "Queue_Counts" (queue_name, status, delta)
  SELECT queue_name, CAST(status AS VARCHAR(11)), -COUNT(*) FROM queue_counts_old
  GROUP BY queue_name, status;
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION openorch_queue_counts_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF CAST(NEW.status AS VARCHAR(11)) = 'IN_PROGRESS' AND OLD.status IS DISTINCT FROM NEW.status
  THEN
    INSERT INTO "Queue_Counts" (queue_name, status, delta)
    VALUES (OLD.queue_name, CAST(OLD.status AS VARCHAR(11)), -1),
           (NEW.queue_name, CAST(NEW.status AS VARCHAR(11)), 1),
           (NEW.queue_name, 'CLAIMED', 1);
  ELSE
    INSERT INTO "Queue_Counts" (queue_name, status, delta)
    VALUES (OLD.queue_name, CAST(OLD.status AS VARCHAR(11)), -1),
           (NEW.queue_name, CAST(NEW.status AS VARCHAR(11)), 1);
  END IF;
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION openorch_queue_counts_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "Queue_Counts";
  RETURN NULL;
END $$""",
    """CREATE TRIGGER queue_counts_insert AFTER INSERT ON "Queues"
REFERENCING NEW TABLE AS queue_counts_new
FOR EACH STATEMENT EXECUTE PROCEDURE openorch_queue_counts_insert()""",
    """CREATE TRIGGER queue_counts_delete AFTER DELETE ON "Queues"
REFERENCING OLD TABLE AS queue_counts_old
FOR EACH STATEMENT EXECUTE PROCEDURE openorch_queue_counts_delete()""",
    """CREATE TRIGGER queue_counts_update AFTER UPDATE OF status, queue_name ON "Queues"
FOR EACH ROW
WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.queue_name IS DISTINCT FROM NEW.queue_name)
EXECUTE PROCEDURE openorch_queue_counts_update()""",
    """CREATE TRIGGER queue_counts_truncate AFTER TRUNCATE ON "Queues"
FOR EACH STATEMENT EXECUTE PROCEDURE openorch_queue_counts_truncate()""",
)

# One trigger for the three events: `inserted` and `deleted` hold the statement's rows
# (an UPDATE has both); changes that cancel out (a message edit) add nothing. A claim is
# an updated row (same id in both) now IN_PROGRESS and not before.
_MSSQL_DDL = (
    """CREATE TRIGGER queue_counts_change ON [Queues] AFTER INSERT, UPDATE, DELETE AS
BEGIN
  SET NOCOUNT ON;
  INSERT INTO [Queue_Counts] (queue_name, status, delta)
  SELECT queue_name, status, SUM(delta) FROM (
    SELECT queue_name, status, CAST(1 AS BIGINT) AS delta FROM inserted
    UNION ALL
    SELECT queue_name, status, CAST(-1 AS BIGINT) FROM deleted
    UNION ALL
    SELECT i.queue_name, 'CLAIMED', CAST(1 AS BIGINT) FROM inserted i
    JOIN deleted d ON d.id = i.id
    WHERE i.status = 'IN_PROGRESS' AND d.status <> 'IN_PROGRESS'
  ) AS changes
  GROUP BY queue_name, status
  HAVING SUM(delta) <> 0;
END""",
)

_DROP_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": tuple(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS["sqlite"]),
    "postgresql": tuple(
        f'DROP TRIGGER IF EXISTS {name} ON "Queues"' for name in TRIGGERS["postgresql"]
    )
    + tuple(f"DROP FUNCTION IF EXISTS openorch_{name}()" for name in TRIGGERS["postgresql"]),
    "mssql": ("DROP TRIGGER IF EXISTS queue_counts_change",),
}

_TRIGGER_DDL = {"sqlite": _SQLITE_DDL, "postgresql": _POSTGRESQL_DDL, "mssql": _MSSQL_DDL}

#: Backfill from the elements as they are (run after the triggers exist, in the same
#: transaction: writers wait for the triggers' lock, so no change is counted twice or lost).
BACKFILL = (
    'INSERT INTO "Queue_Counts" (queue_name, status, delta) '
    'SELECT queue_name, {status}, COUNT(*) FROM "Queues" GROUP BY queue_name, status'
)


def trigger_ddl(dialect: str) -> tuple[str, ...]:
    """The statements that create the count triggers on this backend."""
    return _TRIGGER_DDL[dialect]


def claim_counting_ddl(dialect: str) -> tuple[str, ...]:
    """The statements that replace the one trigger (function, on PostgreSQL) that
    changed when claims began to be counted (revision 0d22a1e5c001), on a database
    that has the count triggers of 0d1ca1e5c001."""
    if dialect == "sqlite":
        return ("DROP TRIGGER IF EXISTS queue_counts_update", _SQLITE_DDL[2])
    if dialect == "postgresql":
        return (_POSTGRESQL_DDL[2],)
    return ("DROP TRIGGER IF EXISTS queue_counts_change", _MSSQL_DDL[0])


def drop_ddl(dialect: str) -> tuple[str, ...]:
    """The statements that drop them (the migration's downgrade)."""
    return _DROP_DDL[dialect]


def backfill_sql(dialect: str) -> str:
    """The INSERT that counts the existing elements into `Queue_Counts`."""
    status = "CAST(status AS VARCHAR(11))" if dialect == "postgresql" else "status"
    sql = BACKFILL.format(status=status)
    return sql.replace('"', "") if dialect == "mssql" else sql


def counts_maintained(connection: Connection) -> bool:
    """True when `Queue_Counts` and all its triggers exist on this database."""
    dialect = connection.dialect.name
    names = TRIGGERS.get(dialect)
    if not names:
        return False
    listed = ", ".join(f"'{name}'" for name in names)
    if dialect == "sqlite":
        sql = f"SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ({listed})"
    elif dialect == "postgresql":
        sql = (
            "SELECT COUNT(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            f"WHERE c.relname = 'Queues' AND pg_table_is_visible(c.oid) AND t.tgname IN ({listed})"
        )
    else:
        sql = f"SELECT COUNT(*) FROM sys.triggers WHERE name IN ({listed})"
    return int(connection.exec_driver_sql(sql).scalar() or 0) == len(names)


def read_counts(connection: Connection) -> tuple[dict[str, dict[QueueStatus, int]], int]:
    """Every queue's count per status (zeros included; queues without elements left
    out, as a GROUP BY over `Queues` leaves them out), and how many delta rows were
    summed (the caller compacts when there are many)."""
    statement = select(
        QUEUE_COUNTS.c.queue_name,
        QUEUE_COUNTS.c.status,
        func.sum(QUEUE_COUNTS.c.delta),
        func.count(),
    ).group_by(QUEUE_COUNTS.c.queue_name, QUEUE_COUNTS.c.status)
    counts: dict[str, dict[QueueStatus, int]] = {}
    rows = 0
    members = QueueStatus.__members__
    for queue_name, status, total, summed in connection.execute(statement):
        rows += int(summed)
        if not total or status not in members:
            continue
        per_status = counts.get(queue_name)
        if per_status is None:  # built once per queue: building it per row cost 4 ms
            per_status = counts[queue_name] = dict.fromkeys(_STATUSES, 0)
        per_status[members[status]] = int(total)
    return dict(sorted(counts.items())), rows


_STATUSES = tuple(QueueStatus)


def one_queue(connection: Connection, queue_name: str) -> dict[QueueStatus, int]:
    """One queue's count per status (zeros included)."""
    statement = (
        select(QUEUE_COUNTS.c.status, func.sum(QUEUE_COUNTS.c.delta))
        .where(QUEUE_COUNTS.c.queue_name == queue_name)
        .group_by(QUEUE_COUNTS.c.status)
    )
    counts = dict.fromkeys(QueueStatus, 0)
    for status, total in connection.execute(statement):
        if status in QueueStatus.__members__:
            counts[QueueStatus[status]] = int(total or 0)
    return counts


def queue_total(connection: Connection, queue_name: str, status: QueueStatus | None) -> int:
    """How many elements one queue has (in one status, when given)."""
    statement = select(func.coalesce(func.sum(QUEUE_COUNTS.c.delta), 0)).where(
        QUEUE_COUNTS.c.queue_name == queue_name
    )
    if status is not None:
        statement = statement.where(QUEUE_COUNTS.c.status == status.name)
    else:
        statement = statement.where(QUEUE_COUNTS.c.status != CLAIMED)
    return int(connection.execute(statement).scalar() or 0)


def read_claims(connection: Connection) -> dict[str, int]:
    """Every queue's claims since the triggers began counting them (queues with none
    left out)."""
    statement = (
        select(QUEUE_COUNTS.c.queue_name, func.sum(QUEUE_COUNTS.c.delta))
        .where(QUEUE_COUNTS.c.status == CLAIMED)
        .group_by(QUEUE_COUNTS.c.queue_name)
    )
    return {str(queue): int(total) for queue, total in connection.execute(statement) if total}


_POSTGRESQL_COMPACT = """WITH gone AS (
  DELETE FROM "Queue_Counts" RETURNING queue_name, status, delta
)
INSERT INTO "Queue_Counts" (queue_name, status, delta)
SELECT queue_name, status, SUM(delta) FROM gone GROUP BY queue_name, status
HAVING SUM(delta) <> 0"""

_MSSQL_COMPACT = """SET NOCOUNT ON;
DECLARE @gone TABLE (queue_name NVARCHAR(100), status VARCHAR(11), delta BIGINT);
DELETE FROM [Queue_Counts] OUTPUT deleted.queue_name, deleted.status, deleted.delta INTO @gone;
INSERT INTO [Queue_Counts] (queue_name, status, delta)
SELECT queue_name, status, SUM(delta) FROM @gone GROUP BY queue_name, status
HAVING SUM(delta) <> 0;"""


def compact_sql(dialect: str) -> str | None:
    """The one statement (batch) that compacts on this backend; None on SQLite, whose
    write transaction excludes every other writer, so three plain statements do."""
    return {"postgresql": _POSTGRESQL_COMPACT, "mssql": _MSSQL_COMPACT}.get(dialect)


def compact(connection: Connection) -> int:
    """Replace every delta row by one row per (queue, status) holding their sum, in the
    caller's write transaction. Totals are unchanged: on PostgreSQL the rows deleted are
    exactly the rows summed (one statement, one snapshot; rows other transactions add
    meanwhile stay as they are). Returns how many rows were summed."""
    dialect = connection.dialect.name
    before = int(connection.execute(select(func.count()).select_from(QUEUE_COUNTS)).scalar() or 0)
    sql = compact_sql(dialect)
    if sql is not None:
        connection.exec_driver_sql(sql)
        return before
    sums = connection.execute(
        select(QUEUE_COUNTS.c.queue_name, QUEUE_COUNTS.c.status, func.sum(QUEUE_COUNTS.c.delta))
        .group_by(QUEUE_COUNTS.c.queue_name, QUEUE_COUNTS.c.status)
        .having(func.sum(QUEUE_COUNTS.c.delta) != 0)
    ).all()
    connection.execute(QUEUE_COUNTS.delete())
    if sums:
        connection.execute(
            QUEUE_COUNTS.insert(),
            [{"queue_name": q, "status": s, "delta": int(d)} for q, s, d in sums],
        )
    return before


class QueueCountStore(StoreCore):
    """The maintained counts: whether this database has them, reading and compacting."""

    _counts_checked: tuple[float, bool] | None = None

    def _counts_maintained(self) -> bool:
        """Whether this database keeps `Queue_Counts` (cached for RECHECK_SECONDS)."""
        checked = self._counts_checked
        if checked is not None and time.monotonic() - checked[0] < RECHECK_SECONDS:
            return checked[1]
        with self.engine.connect() as connection:
            found = counts_maintained(connection)
        self._counts_checked = (time.monotonic(), found)
        return found

    def _maintained_queue_counts(self) -> dict[str, dict[QueueStatus, int]] | None:
        """Every queue's counts from `Queue_Counts`; None when this database has none."""
        if not self._counts_maintained():
            return None
        with self.engine.connect() as connection:
            counts, rows = read_counts(connection)
        if rows > COMPACT_ABOVE:
            self._compact_quietly()
        return counts

    def _maintained_one_queue(self, queue_name: str) -> dict[QueueStatus, int] | None:
        """One queue's counts per status from `Queue_Counts`; None without them."""
        if not self._counts_maintained():
            return None
        with self.engine.connect() as connection:
            return one_queue(connection, queue_name)

    def claim_counts(self) -> dict[str, int] | None:
        """Claims per queue since the count triggers began counting them (the upgrade
        to 0d22a1e5c001), whoever claimed; None when this database keeps no counts."""
        if not self._counts_maintained():
            return None
        with self.engine.connect() as connection:
            return read_claims(connection)

    def _compact_quietly(self) -> None:
        try:
            self.compact_queue_counts()
        except Exception as error:  # a read must not fail because tidying up did
            log.info("Compacting Queue_Counts failed (the next read tries again): %s", error)

    def compact_queue_counts(self) -> int:
        """Sum `Queue_Counts`' delta rows into one row per (queue, status), in one short
        write transaction; returns how many rows there were (0: nothing to do, or this
        database has no maintained counts). The watchdog's lease holder calls it every
        tick; anyone may, at any time, as often as they like."""
        if not self._counts_maintained():
            return 0

        def work(connection: Connection) -> int:
            return compact(connection)

        return self._write_core(work)

"""openorch: claims counted by the queue count triggers (issue 29's claim counts).

Revision ID: 0d22a1e5c001
Revises: 0d21a1e5c001

The count triggers on `Queues` (revision 0d1ca1e5c001) also add a delta row
`(queue, 'CLAIMED', 1)` when an element's status becomes IN_PROGRESS from another, so
`/metrics` can report claims per queue (`openorch_queue_claims_total`) without reading
`Queues`: exact whoever claims, the original OpenOrchestrator's Schedulers included.
Additive: the original never reads `Queue_Counts`; its writes fire the same triggers.
The triggers are replaced where the database keeps counts (every backend); the count
starts at 0 with the upgrade. The downgrade puts back 0d1ca1e5c001's triggers and
deletes the claim rows: the code of the revisions before sums every row of a queue for
its total, so a claim row left behind would count as an element there (and an upgrade
after it would not start at 0).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from openorch.store.queues import counts as queue_counts

revision: str = "0d22a1e5c001"
down_revision: str | None = "0d21a1e5c001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: 0d1ca1e5c001's update trigger (SQLite, PostgreSQL) and change trigger (SQL Server),
#: as that revision made them (for the downgrade); the other count triggers are the same.
_REVISION_0D1CA = {
    "sqlite": (
        "DROP TRIGGER IF EXISTS queue_counts_update",
        """CREATE TRIGGER queue_counts_update AFTER UPDATE OF status, queue_name ON "Queues"
WHEN OLD.status IS NOT NEW.status OR OLD.queue_name IS NOT NEW.queue_name
BEGIN
  INSERT INTO "Queue_Counts" (queue_name, status, delta)
  VALUES (OLD.queue_name, OLD.status, -1), (NEW.queue_name, NEW.status, 1);
END""",
    ),
    "postgresql": (
        """CREATE OR REPLACE FUNCTION openorch_queue_counts_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "Queue_Counts" (queue_name, status, delta)
  VALUES (OLD.queue_name, CAST(OLD.status AS VARCHAR(11)), -1),
         (NEW.queue_name, CAST(NEW.status AS VARCHAR(11)), 1);
  RETURN NULL;
END $$""",
    ),
    "mssql": (
        "DROP TRIGGER IF EXISTS queue_counts_change",
        """CREATE TRIGGER queue_counts_change ON [Queues] AFTER INSERT, UPDATE, DELETE AS
BEGIN
  SET NOCOUNT ON;
  INSERT INTO [Queue_Counts] (queue_name, status, delta)
  SELECT queue_name, status, SUM(delta) FROM (
    SELECT queue_name, status, CAST(1 AS BIGINT) AS delta FROM inserted
    UNION ALL
    SELECT queue_name, status, CAST(-1 AS BIGINT) FROM deleted
  ) AS changes
  GROUP BY queue_name, status
  HAVING SUM(delta) <> 0;
END""",
    ),
}


def _keeps_counts() -> bool:
    if context.is_offline_mode():  # a script: 0d1ca1e5c001 made them in the same script
        return True
    return queue_counts.counts_maintained(op.get_bind())


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect not in _REVISION_0D1CA or not _keeps_counts():
        return
    for statement in queue_counts.claim_counting_ddl(dialect):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect not in _REVISION_0D1CA or not _keeps_counts():
        return
    for statement in _REVISION_0D1CA[dialect]:
        op.execute(statement)
    counts = sa.table("Queue_Counts", sa.column("status"))
    op.execute(sa.delete(counts).where(counts.c.status == queue_counts.CLAIMED))

"""What the admin does to queues beyond the original's operations: retries, releases,
bulk actions on a filtered view, and the Queues tab's overview."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.orm import Session

from openorch.database import QueueElement, QueueSettings, QueueStatus
from openorch.database.base import table_of
from openorch.store import validation as v
from openorch.store.errors import BadInput
from openorch.store.queues.claim import oldest_new_created
from openorch.store.queues.elements import OPEN_STATUSES, QueueStore, element_filters
from openorch.store.queues.history import actor_of, record_events
from openorch.store.queues.lifecycle import release_element, retry_element
from openorch.store.queues.messages import stamp
from openorch.store.queues.pipelines import delete_orphaned_progress
from openorch.store.queues.review import check_kind
from openorch.store.queues.settings import QueueSettingsStore
from openorch.store.queues.status import QueueEvent, sources_of, target_of, transition_values

_QUEUES = table_of(QueueElement)

#: Which elements each bulk action of the Orchestrator touches, by status.
#: (The statuses come from store/queues/status.py's table.)
BULK_ACTION_STATUSES: dict[str, tuple[QueueStatus, ...]] = {
    "retry": sources_of(QueueEvent.ADMIN_RETRY),
    "abandon": sources_of(QueueEvent.ADMIN_ABANDON),
    "delete": tuple(QueueStatus),
}


@dataclass(frozen=True)
class QueueOverview:
    """One line of the Queues tab: counts per status, the age of the oldest NEW element,
    how many NEW/IN_PROGRESS elements are past their deadline, and the settings."""

    queue_name: str
    counts: dict[QueueStatus, int]
    oldest_new: datetime | None
    past_deadline: int
    settings: QueueSettings | None


_FILTER_NAMES = frozenset(
    (
        "reference",
        "status",
        "from_date",
        "to_date",
        "search_term",
        "overdue",
        "in_progress_longer_than",
        "pipeline_step",
    )
)


class QueueAdminStore(QueueStore, QueueSettingsStore):
    """What the process in hand and the admin do beyond the original's operations:
    retries, releases, bulk actions on a filtered view, and the queue overview.

    It subclasses `QueueStore` and `QueueSettingsStore` because it calls them (counts,
    settings, the search prefilter), not to bundle them: `Store` lists all three."""

    def retry_queue_element(
        self,
        element_id: uuid.UUID | str,
        message: str | None = None,
        *,
        kind: str | None = None,
        actor: str | None = None,
    ) -> QueueStatus:
        """Give up the current attempt at an IN_PROGRESS element: back to NEW with
        attempts + 1 (after the queue's retry delay) when attempts remain, otherwise
        FAILED. A business failure (`kind="business"`) is never retried: FAILED at once
        (and to review, per the queue's setting). Returns the new status.

        Raises:
            ValueError: bad id, kind or message, no such element, or it is not IN_PROGRESS.
        """
        key = v.check_uuid("element_id", element_id)
        failure = check_kind(kind)
        v.check_text(QueueElement, "message", message, required=False)
        who = actor_of(self, actor)
        return self._write_core(
            lambda connection: retry_element(connection, key, message, datetime.now(), failure, who)
        )

    def release_queue_element(
        self, element_id: uuid.UUID | str, *, actor: str | None = None
    ) -> QueueStatus:
        """Release an element stuck IN_PROGRESS (an admin's action): NEW while its queue
        allows another attempt, otherwise ABANDONED. Returns the new status.

        Raises:
            ValueError: bad id, no such element, or it is not IN_PROGRESS.
        """
        key = v.check_uuid("element_id", element_id)
        who = actor_of(self, actor)
        return self._write_core(
            lambda connection: release_element(connection, key, datetime.now(), who)
        )

    def count_queue_action(self, action: str, queue_name: str, **filters: Any) -> int:
        """How many of the filtered elements `apply_queue_action` would change (to ask
        the admin first). `filters` are those of `element_filters`.

        Raises:
            ValueError: unknown action or bad filter.
        """
        conditions = self._action_conditions(action, queue_name, filters)
        conditions += self._search_prefilter(filters.get("search_term"), queue_name)
        statement = select(func.count()).select_from(_QUEUES).where(*conditions)
        return int(self._read(lambda session: session.scalar(statement)) or 0)

    def apply_queue_action(
        self, action: str, queue_name: str, *, actor: str | None = None, **filters: Any
    ) -> int:
        """Apply a bulk action to the filtered elements of a queue, in one transaction:
        "retry" (IN_PROGRESS, FAILED, ABANDONED -> NEW, claimable at once), "abandon"
        (NEW, IN_PROGRESS -> ABANDONED) or "delete" (any status). Returns how many.
        Each retried or abandoned element's history gets a row naming `actor` (default:
        the store's `history_actor`); deleted elements take their history with them.

        Raises:
            ValueError: unknown action or bad filter.
        """
        conditions = self._action_conditions(action, queue_name, filters)
        now = datetime.now()
        who = actor_of(self, actor)
        if action == "delete":

            def delete_them(connection: Connection) -> int:
                count = int(connection.execute(delete(_QUEUES).where(*conditions)).rowcount)
                if count:
                    # The deleted elements' pipeline progress goes with them.
                    delete_orphaned_progress(connection)
                return count

            return self._write_core(delete_them)
        if action == "retry":
            event, history, message = QueueEvent.ADMIN_RETRY, "retried", "Set back to NEW"
            extra: dict[str, Any] = {"not_before": None}
        else:
            event, history, message = QueueEvent.ADMIN_ABANDON, "abandoned", "Abandoned"
            extra = {}
        message = f"{message} by an admin on {stamp(now)}."

        def change_them(connection: Connection) -> int:
            statement = (
                update(_QUEUES)
                .where(*conditions)
                .values(**transition_values(event, now), message=message, **extra)
            )
            # SQL Server refuses OUTPUT on a table with triggers (the counts' trigger).
            if connection.dialect.update_returning and connection.dialect.name != "mssql":
                # Exactly the elements this UPDATE changed get a history row.
                keys = list(connection.execute(statement.returning(_QUEUES.c.id)).scalars())
            else:  # an old SQLite: the ids first, in the same (write-locked) transaction
                keys = list(connection.execute(select(_QUEUES.c.id).where(*conditions)).scalars())
                connection.execute(statement)
            record_events(
                connection, keys, history, who, now, message=message, status=target_of(event)
            )
            return len(keys)

        return self._write_core(change_them)

    @staticmethod
    def _action_conditions(action: str, queue_name: str, filters: dict[str, Any]) -> list[Any]:
        statuses = BULK_ACTION_STATUSES.get(action)
        if statuses is None:
            raise BadInput(
                f"action must be one of {', '.join(BULK_ACTION_STATUSES)}; got {action!r}."
            )
        unknown = set(filters) - _FILTER_NAMES
        if unknown:
            raise BadInput(f"Unknown filter(s): {', '.join(sorted(unknown))}.")
        conditions = element_filters(queue_name, **filters)
        if action != "delete":
            conditions.append(_QUEUES.c.status.in_(statuses))
        return conditions

    def get_queue_overview(self) -> list[QueueOverview]:
        """Every queue (with elements or settings), with counts per status, the created
        date of its oldest NEW element and how many NEW/IN_PROGRESS elements are past
        their deadline. Index-served: one seek per queue (`oldest_new_created`), one
        grouped count on the (status, deadline) index."""
        counts = self.get_queue_count()
        settings = self.get_all_queue_settings()
        now = datetime.now()
        overdue = (
            select(_QUEUES.c.queue_name, func.count())
            .where(_QUEUES.c.status.in_(OPEN_STATUSES), _QUEUES.c.deadline < now)
            .group_by(_QUEUES.c.queue_name)
        )

        def work(session: Session) -> list[QueueOverview]:
            late = {name: int(count) for name, count in session.execute(overdue)}
            lines = []
            for name in sorted(set(counts) | set(settings)):
                per_status = counts.get(name) or dict.fromkeys(QueueStatus, 0)
                oldest = None
                if per_status.get(QueueStatus.NEW):
                    oldest = session.scalar(select(oldest_new_created(name, self.dialect)))
                lines.append(
                    QueueOverview(name, per_status, oldest, late.get(name, 0), settings.get(name))
                )
            return lines

        return self._read(work)

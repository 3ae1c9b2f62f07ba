"""The two pipeline terms the queue operations need (kept apart from store/pipelines.py,
which builds on the queue operations, so neither imports the other)."""

from typing import Any

from sqlalchemy import Connection, delete, exists, select

from openorch.database import ElementEvent, PipelineRun, PipelineStepRun, QueueElement, ReviewItem
from openorch.database.base import table_of

_QUEUES = table_of(QueueElement)
_RUNS = table_of(PipelineRun)
_HISTORY = table_of(PipelineStepRun)
_REVIEWS = table_of(ReviewItem)
_EVENTS = table_of(ElementEvent)


def step_filter(queue_name: str, step: str) -> Any:
    """WHERE term: the element's pipeline currently stands at `step` (for element_filters);
    the subquery reads the (queue_name, step) index."""
    return _QUEUES.c.id.in_(
        select(_RUNS.c.element_id).where(_RUNS.c.queue_name == queue_name, _RUNS.c.step == step)
    )


def delete_progress(connection: Connection, element_ids: Any) -> None:
    """Delete the pipeline rows, review items and history of the elements `element_ids`
    (a list or a subquery of ids), in the caller's transaction that deletes the elements."""
    for table in (_HISTORY, _RUNS, _REVIEWS, _EVENTS):
        connection.execute(delete(table).where(table.c.element_id.in_(element_ids)))


def delete_orphaned_progress(connection: Connection) -> None:
    """Delete the pipeline rows whose element no longer exists, in the caller's
    transaction after a bulk delete (also those the original's deletes left behind).
    One index lookup on Queues' primary key per pipeline row."""
    for table, column in ((_HISTORY, _HISTORY.c.element_id), (_RUNS, _RUNS.c.element_id)):
        connection.execute(
            delete(table).where(~exists(select(_QUEUES.c.id).where(_QUEUES.c.id == column)))
        )

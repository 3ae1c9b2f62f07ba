"""A pipeline step that asks a person to decide (`wait_for_review`, issue 27).

The step's part is closed as "review", its state is saved and the progress moves to the
next step (None after the last one) in the same transaction that sets the element FAILED
and opens a review item of kind "decision". The element stays FAILED (the original
reads it as such and never claims it) until someone decides: "continue" sets it back to
NEW with the filled form in the state (store/queues/review.py), so the next run resumes at the
next step; "failed" or "abandon" end it.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, update

from openorch.database import PipelineRun, QueueElement, QueueStatus
from openorch.database.base import table_of
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.queues.history import actor_of
from openorch.store.queues.pipelines import (
    PipelineProgress,
    _close_history,
    _message,
    _own,
    dump_state,
)
from openorch.store.queues.review import check_form, open_review
from openorch.store.queues.status import QueueEvent, transition_values

_QUEUES = table_of(QueueElement)
_RUNS = table_of(PipelineRun)


class PipelineReviewStore(StoreCore):
    """Sending a pipeline element to review with a question."""

    def request_pipeline_review(
        self,
        progress: PipelineProgress,
        history_id: uuid.UUID | None,
        state: dict[str, Any],
        next_step: str | None,
        reason: str,
        form: Any = None,
    ) -> uuid.UUID:
        """Save that the current step finished by asking a person (`reason`, and the
        `form` to fill: field names or name -> label); returns the review item's id.

        Raises:
            LostElementError: the run no longer owns the element (nothing written).
            ValueError: the state is not a JSON object, or a bad reason or form.
        """
        text = dump_state(state)
        checked_reason = v.check_text(QueueElement, "message", reason, nonblank=True)
        assert checked_reason is not None
        checked_form = check_form(form)
        if next_step is not None:
            v.check_text(PipelineRun, "step", next_step)
        now = datetime.now()
        actor = actor_of(self, None)

        def work(connection: Connection) -> uuid.UUID:
            queue_name = _own(connection, progress.element_id, progress.job_id, progress.token)
            if history_id is not None:
                _close_history(connection, history_id, "review", now, checked_reason)
            connection.execute(
                update(_RUNS)
                .where(_RUNS.c.element_id == progress.element_id)
                .values(
                    step=next_step,
                    state=text,
                    continuing=False,
                    wait_started=None,
                    updated_date=now,
                )
            )
            connection.execute(
                update(_QUEUES)
                .where(_QUEUES.c.id == progress.element_id)
                .values(
                    **transition_values(QueueEvent.SET, now, QueueStatus.FAILED),
                    message=_message(f"Waiting for review: {checked_reason}"),
                )
            )
            return open_review(
                connection,
                progress.element_id,
                queue_name,
                checked_reason,
                "decision",
                now,
                actor,
                checked_form,
            )

        return self._write_core(work)

"""Progress of resumable pipelines: where each queue element stands, and what ran.

A pipeline (openorch.sdk.pipeline) runs an ordered list of named steps over one queue
element. Its progress lives in two tables of its own rather than in columns of `Queues`:

- the state is JSON of any size, and the queue dialog pages `Queues` a million rows at a
  time: keeping it out of that row keeps paging, claiming and the original's reads of
  `Queues` exactly as cheap as before, and elements that are not pipelines cost nothing;
- the history has many rows per element, so it needs a table anyway;
- the original OpenOrchestrator never sees either table, so it keeps reading these
  elements as ordinary NEW / IN_PROGRESS / DONE / FAILED ones.

There is no foreign key to `Queues` (the original deletes elements without knowing these
tables): openorch's data layer deletes the rows with their element; rows left behind by the
original's deletes are never read again (an element id is never reused).
"""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base
from openorch.database.ids import new_id


class PipelineRun(Base):
    """One element's pipeline progress (table `Pipeline_Runs`, one row per element).

    `queue_name` repeats the element's queue so the queue dialog's step filter and its
    list of steps read only this table's (queue_name, step) index, never every row.
    `step` is the first step that has not finished (None once every step has), `state`
    the JSON saved after the last finished step (or by the last wait). `continuing` says
    the current step's start part already ran and asked to wait, so the next run calls its
    continue part; `wait_started` is when it first asked (the step's time limit counts from
    there). `token` is the fencing token of the run that holds the element: every save
    checks it, so a process that lost the element cannot overwrite a newer run's progress.
    """

    __tablename__ = "Pipeline_Runs"
    __table_args__ = (Index("ix_Pipeline_Runs_queue_name_step", "queue_name", "step"),)

    element_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    queue_name: Mapped[str] = mapped_column(String(100))
    pipeline: Mapped[str] = mapped_column(String(100))
    step: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(Text)
    continuing: Mapped[bool] = mapped_column(Boolean, default=False)
    wait_started: Mapped[datetime | None] = mapped_column()
    token: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_date: Mapped[datetime] = mapped_column(default=datetime.now)

    def __repr__(self) -> str:
        return (
            f"PipelineRun(element_id={self.element_id}, pipeline={self.pipeline!r}, "
            f"step={self.step!r}, continuing={self.continuing})"
        )


class PipelineStepRun(Base):
    """One run of one part of a step for an element (table `Pipeline_Step_History`).

    Written when the part starts (before any of its code runs) and completed in the same
    transaction that saves its outcome. `outcome` is "done", "waiting" (the part asked to
    be continued later), "error" (it raised; `message` says what), "timed out", or None
    while it runs; a row a killed process left None is marked "interrupted" by the next run.
    """

    __tablename__ = "Pipeline_Step_History"
    __table_args__ = (
        Index("ix_Pipeline_Step_History_element_id_started_date", "element_id", "started_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    element_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    pipeline: Mapped[str] = mapped_column(String(100))
    step: Mapped[str] = mapped_column(String(100))
    part: Mapped[str] = mapped_column(String(20))
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    started_date: Mapped[datetime] = mapped_column()
    finished_date: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(String(1000))

    def __repr__(self) -> str:
        return (
            f"PipelineStepRun(element_id={self.element_id}, step={self.step!r}, "
            f"part={self.part!r}, outcome={self.outcome!r})"
        )

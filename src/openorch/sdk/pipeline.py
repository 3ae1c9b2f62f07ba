"""Resumable multi-step pipelines over a queue: one queue element = one pipeline run.

A pipeline is an ordered list of named steps. For each element it claims, it runs the
steps from the first one that has not finished, handing each the element and a JSON state
(a dict) the step may change in place. After each step the step's name and the state are
saved in the database before the next step starts, so a run that stops in the middle
(killed, Scheduler gone, an exception) is resumed by a later run at the step that did not
finish, with the state saved after the last one that did.

A step may wait for something outside (prorch's on_start / on_continue): its `on_start`
starts it and returns `wait(...)`; the element goes back to NEW, not claimable before the
given time, and a later run calls the step's `on_continue`, which finishes (returns None)
or waits again. `time_limit` bounds the whole wait; past it the element FAILS.

A step may also ask a person (`return wait_for_review(reason, form=...)`): the element
goes to the review inbox (FAILED to the original) and, when someone decides "continue",
a later run resumes at the next step, which finds the decision and the filled form in
`state["review"]`. A step that raises `BusinessError` sends the element to review (per
the queue's setting) without a retry, its state as saved after the last finished step.

Example:
    >>> pipeline = Pipeline("backup", [
    ...     Step("generate", make_backup),
    ...     Step("transfer", start_upload, on_continue=check_upload,
    ...          time_limit=timedelta(hours=2)),
    ...     Step("notify", send_mail),
    ... ])
    >>> pipeline.run(OrchestratorConnection.create_connection_from_args(), "backups")

The engine holds no SQL: progress goes through the data layer (openorch.store.queues.pipelines),
which checks on every save that this run still owns the element.
"""

import json
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from openorch.database import PipelineRun, QueueElement, QueueStatus
from openorch.sdk.business_error import BusinessError
from openorch.store import LostElementError, PipelineProgress
from openorch.store import validation as v
from openorch.store.queues.messages import describe_duration, format_datetime

if TYPE_CHECKING:
    from openorch.sdk.connection import OrchestratorConnection


@dataclass(frozen=True)
class Wait:
    """What a step part returns to be continued later, not before `until`."""

    until: datetime


def wait(seconds: float | timedelta | None = None, *, until: datetime | None = None) -> Wait:
    """Ask to be continued later: after `seconds` (or a timedelta) from now, or not
    before `until` (a naive local time, as every openorch date). Return it from a step.

    Raises:
        ValueError: neither or both given, or a negative duration.
    """
    if (seconds is None) == (until is None):
        raise ValueError("wait() takes either a duration (seconds) or until=<datetime>.")
    if until is not None:
        moment = v.check_datetime("until", until)
        assert moment is not None
        return Wait(moment)
    delay = seconds if isinstance(seconds, timedelta) else timedelta(seconds=float(seconds or 0))
    if delay < timedelta(0):
        raise ValueError(f"wait() needs a duration of 0 or more, not {delay}.")
    return Wait(datetime.now() + delay)


@dataclass(frozen=True)
class ReviewRequest:
    """What a step returns to ask a person to decide (`wait_for_review`)."""

    reason: str
    form: dict[str, str] | None = None


def wait_for_review(
    reason: str, form: Sequence[str] | dict[str, str] | None = None
) -> ReviewRequest:
    """Ask a person to decide before the pipeline goes on: return it from a step.

    The element goes to the review inbox with `reason` (and `form`: field names, or a
    dict of field name -> label, for the decider to fill). When someone decides
    "continue", a later run resumes at the next step, which reads
    `state["review"]` = {"decision", "values" (the filled form), "comment",
    "decided_by"}; "failed" or "abandon" end the element.

    Raises:
        ValueError: an empty reason or a bad form.
    """
    from openorch.store.queues.review import check_form

    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("wait_for_review() needs a reason (text) a person can read.")
    return ReviewRequest(reason, check_form(form))


#: A step part: gets the element and the state (a dict it may change in place), returns
#: None when the step is done, `wait(...)` to be continued later, or
#: `wait_for_review(...)` to ask a person.
StepPart = Callable[[QueueElement, dict[str, Any]], "Wait | ReviewRequest | None"]


@dataclass(frozen=True)
class Step:
    """One named step. `on_start` runs first; a step that may wait gives `on_continue`,
    which later runs instead (as often as it asks to wait again), and may give
    `time_limit`: how long after its first wait the step may take before the element
    FAILS."""

    name: str
    on_start: StepPart
    on_continue: StepPart | None = None
    time_limit: timedelta | None = None

    def __post_init__(self) -> None:
        v.check_text(PipelineRun, "step", self.name, label="Step name")
        if not callable(self.on_start):
            raise ValueError(f"Step {self.name!r}: on_start must be callable.")
        if self.on_continue is not None and not callable(self.on_continue):
            raise ValueError(f"Step {self.name!r}: on_continue must be callable or None.")
        if self.time_limit is not None and (
            not isinstance(self.time_limit, timedelta) or self.time_limit <= timedelta(0)
        ):
            raise ValueError(f"Step {self.name!r}: time_limit must be a positive timedelta.")


@dataclass
class PipelineSummary:
    """What `Pipeline.run` did, element by element outcome counts."""

    done: int = 0
    waiting: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0
    #: Elements sent to the review inbox (a step asked a person, or a business failure).
    review: int = 0
    elements: list[uuid.UUID] = field(default_factory=list)

    @property
    def handled(self) -> int:
        """How many elements this run claimed."""
        return len(self.elements)


class Pipeline:
    """A named, ordered list of steps, run over the elements of a queue.

    Raises:
        ValueError: no steps, a bad or repeated step name, or a bad pipeline name.
    """

    def __init__(self, name: str, steps: Sequence[Step]) -> None:
        v.check_text(PipelineRun, "pipeline", name, label="Pipeline name")
        steps = list(steps)
        if not steps:
            raise ValueError(f"Pipeline {name!r} needs at least one step.")
        for step in steps:
            if not isinstance(step, Step):
                raise ValueError(
                    f"Pipeline {name!r}: every step must be a Step, not {type(step).__name__}."
                )
        names = [step.name for step in steps]
        repeated = sorted({one for one in names if names.count(one) > 1})
        if repeated:
            raise ValueError(
                f"Pipeline {name!r}: step names must be unique; repeated: {', '.join(repeated)}."
            )
        self.name = name
        self.steps = tuple(steps)
        self._index = {step.name: index for index, step in enumerate(steps)}

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, steps={[step.name for step in self.steps]})"

    # --- running over a queue -----------------------------------------------------

    def run(
        self,
        connection: "OrchestratorConnection",
        queue_name: str,
        *,
        max_elements: int | None = None,
        stop_when_paused: bool = True,
    ) -> PipelineSummary:
        """Claim the queue's elements one at a time and run the pipeline for each, until
        none is claimable (or `max_elements` were handled, or the trigger that started
        this process is being paused). An exception in a step never escapes: it counts
        as an attempt of that element (see `run_element`) and the next element follows.
        """
        summary = PipelineSummary()
        while max_elements is None or summary.handled < max_elements:
            if stop_when_paused and connection.is_trigger_pausing():
                connection.log_info(f"Pipeline {self.name!r}: trigger pausing; stopping.")
                break
            element = connection.get_next_queue_element(queue_name)
            if element is None:
                break
            summary.elements.append(element.id)
            outcome = self.run_element(connection, element)
            setattr(summary, outcome, getattr(summary, outcome) + 1)
        return summary

    def run_element(self, connection: "OrchestratorConnection", element: QueueElement) -> str:
        """Run the pipeline for one element this process has claimed (IN_PROGRESS),
        from its first unfinished step. Returns what became of it: "done", "waiting"
        (a step waits to be continued), "retried" (a step raised; NEW for another
        attempt), "failed" (out of attempts, or over a step's time limit), "review"
        (in the review inbox: a step asked a person, or a business failure) or "lost"
        (the element stopped being this run's, e.g. its job was reaped).
        """
        store = connection.store
        job_id = connection.job_id
        try:
            progress = connection.call(
                lambda: store.adopt_pipeline_element(
                    element.id, job_id, self.name, self.steps[0].name
                ),
                repeatable=False,
            )
        except LostElementError as error:
            connection.log_error(f"Pipeline {self.name!r}: {error}")
            return "lost"
        except ValueError as error:
            return self._refuse(connection, element, str(error))
        if progress.step is None:
            # Every step finished but the element was set back to NEW (by an admin).
            try:
                connection.call(
                    lambda: store.finish_pipeline_part(progress, None, progress.state, None),
                    repeatable=False,
                )
            except LostElementError as error:
                connection.log_error(f"Pipeline {self.name!r}: {error}")
                return "lost"
            return "done"
        if progress.step not in self._index:
            return self._refuse(
                connection,
                element,
                f"Pipeline {self.name!r} has no step {progress.step!r}, where this element "
                f"stopped (steps now: {', '.join(self._index)}).",
            )
        state = progress.state
        start = self._index[progress.step]
        continuing = progress.continuing
        wait_started = progress.wait_started
        for index in range(start, len(self.steps)):
            step = self.steps[index]
            outcome = self._run_step(
                connection, element, progress, step, index, state, continuing, wait_started
            )
            if outcome != "next":
                return outcome
            continuing, wait_started = False, None
        return "done"

    # --- one step -------------------------------------------------------------------

    def _run_step(
        self,
        connection: "OrchestratorConnection",
        element: QueueElement,
        progress: PipelineProgress,
        step: Step,
        index: int,
        state: dict[str, Any],
        continuing: bool,
        wait_started: datetime | None,
    ) -> str:
        store = connection.store
        part = "continue" if continuing else "start"
        function = step.on_continue if continuing else step.on_start
        try:
            history_id = connection.call(
                lambda: store.begin_pipeline_part(progress, step.name, part), repeatable=False
            )
        except LostElementError as error:
            connection.log_error(f"Pipeline {self.name!r}, step {step.name!r}: {error}")
            return "lost"
        # The step works on a copy: the state saved after the last finished step stays
        # what a later run resumes with if this one fails half-way.
        working = _copy(state)
        try:
            if function is None:
                raise ValueError(
                    f"step {step.name!r} waits to be continued but has no on_continue."
                )
            result = function(element, working)
            if result is not None and not isinstance(result, (Wait, ReviewRequest)):
                raise ValueError(
                    f"step {step.name!r} returned {type(result).__name__}; a step returns "
                    "None when done, wait(...) to be continued later or "
                    "wait_for_review(...) to ask a person."
                )
            if isinstance(result, Wait) and step.on_continue is None:
                raise ValueError(
                    f"step {step.name!r} returned wait(...) but has no on_continue to "
                    "continue it with."
                )
        except Exception as error:
            return self._failed(connection, progress, step, history_id, error)
        try:
            if isinstance(result, ReviewRequest):
                following = self.steps[index + 1].name if index + 1 < len(self.steps) else None
                connection.call(
                    lambda: store.request_pipeline_review(
                        progress, history_id, working, following, result.reason, result.form
                    ),
                    repeatable=False,
                )
                connection.log_info(
                    f"Pipeline {self.name!r}, step {step.name!r} waits for review: {result.reason}"
                )
                return "review"
            if result is None:
                next_step = self.steps[index + 1].name if index + 1 < len(self.steps) else None
                connection.call(
                    lambda: store.finish_pipeline_part(progress, history_id, working, next_step),
                    repeatable=False,
                )
                state.clear()
                state.update(working)
                return "next" if next_step is not None else "done"
            return self._wait(connection, progress, step, history_id, working, result, wait_started)
        except LostElementError as error:
            connection.log_error(f"Pipeline {self.name!r}, step {step.name!r}: {error}")
            return "lost"
        except ValueError as error:  # the state is not JSON
            return self._failed(connection, progress, step, history_id, error)

    def _wait(
        self,
        connection: "OrchestratorConnection",
        progress: PipelineProgress,
        step: Step,
        history_id: uuid.UUID,
        state: dict[str, Any],
        result: Wait,
        wait_started: datetime | None,
    ) -> str:
        store = connection.store
        now = datetime.now()
        first = wait_started or now
        not_before = result.until
        if step.time_limit is not None:
            limit_at = first + step.time_limit
            if now >= limit_at:
                message = (
                    f"Pipeline {self.name!r}, step {step.name!r} did not finish within its "
                    f"time limit of {describe_duration(step.time_limit)} (waiting since "
                    f"{format_datetime(first)}); FAILED."
                )
                connection.call(
                    lambda: store.time_out_pipeline_part(progress, history_id, message),
                    repeatable=False,
                )
                connection.log_error(message)
                return "failed"
            # Come back at the limit at the latest, for one last check.
            not_before = min(not_before, limit_at)
        connection.call(
            lambda: store.wait_pipeline_part(
                progress, history_id, step.name, state, not_before, first
            ),
            repeatable=False,
        )
        connection.log_info(
            f"Pipeline {self.name!r}, step {step.name!r} waits; continues not before "
            f"{format_datetime(not_before)}."
        )
        return "waiting"

    def _failed(
        self,
        connection: "OrchestratorConnection",
        progress: PipelineProgress,
        step: Step,
        history_id: uuid.UUID | None,
        error: BaseException,
    ) -> str:
        """A step raised: count the attempt (NEW again, or FAILED when out of attempts).
        A `BusinessError` is a business failure: FAILED at once, to review per the
        queue's setting."""
        kind = "business" if isinstance(error, BusinessError) else "application"
        what = f"{type(error).__name__}: {error}"
        message = f"Pipeline {self.name!r}, step {step.name!r} failed: {what}"
        if kind == "business":
            connection.log_error(message[:8000])
        else:
            connection.log_error(f"{message}\n{traceback.format_exc()}"[:8000])
        try:
            status = connection.call(
                lambda: connection.store.fail_pipeline_part(progress, history_id, message, kind),
                repeatable=False,
            )
        except LostElementError as lost:
            connection.log_error(f"Pipeline {self.name!r}, step {step.name!r}: {lost}")
            return "lost"
        if status is QueueStatus.FAILED:
            in_review = connection.call(
                lambda: connection.store.get_open_review_for_element(progress.element_id)
            )
            return "review" if in_review is not None else "failed"
        return "retried"

    def _refuse(
        self, connection: "OrchestratorConnection", element: QueueElement, message: str
    ) -> str:
        """The element cannot be run by this pipeline at all: FAILED, saying why."""
        connection.log_error(message)
        try:
            connection.call(
                lambda: connection.store.fail_pipeline_element(
                    element.id, connection.job_id, message
                ),
                repeatable=False,
            )
        except LostElementError:
            return "lost"
        return "failed"


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON state."""
    copied: dict[str, Any] = json.loads(json.dumps(state))
    return copied

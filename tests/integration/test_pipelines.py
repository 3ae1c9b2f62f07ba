"""Resumable pipelines in one process (SQLite and PostgreSQL): steps in order with the
state saved after each, resume after an exception, attempts running out, waiting steps
and their time limit, runs that lost their element, and the screens' queries."""

import json
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from openorch.database import JobStatus, QueueElement, QueueStatus
from openorch.sdk import OrchestratorConnection, Pipeline, Step, wait
from openorch.store import LostElementError, Store


def _connect(db_url: str, key: str, store: Store) -> OrchestratorConnection:
    job = store.start_job("pipeline", "machine").id
    return OrchestratorConnection("pipeline", db_url, key, "", job_id=job)


def test_steps_run_in_order_and_each_is_saved_before_the_next(
    store: Store, db_url: str, crypto_key: str
) -> None:
    element = store.create_queue_element("p", "r1", '{"n": 2}')
    seen: list[tuple[str, Any, Any]] = []

    def first(item: QueueElement, state: dict[str, Any]) -> None:
        state["doubled"] = 2 * json.loads(item.data or "{}")["n"]
        state["path"] = ["first"]

    def second(_item: QueueElement, state: dict[str, Any]) -> None:
        run = store.get_pipeline_run(element.id)
        assert run is not None
        # Saved before this step started: its name is current, the state is first's.
        seen.append(("second", run.step, run.state))
        state["path"].append("second")

    def third(_item: QueueElement, state: dict[str, Any]) -> None:
        run = store.get_pipeline_run(element.id)
        assert run is not None
        seen.append(("third", run.step, run.state))
        state["path"].append("third")

    pipeline = Pipeline(
        "demo", [Step("first", first), Step("second", second), Step("third", third)]
    )
    with _connect(db_url, crypto_key, store) as oc:
        summary = pipeline.run(oc, "p")
    assert (summary.done, summary.handled) == (1, 1), store.get_queue_element(element.id).message
    assert seen[0][:2] == ("second", "second") and '"doubled": 4' in seen[0][2]
    assert seen[1][:2] == ("third", "third") and '"second"' in seen[1][2]
    done = store.get_queue_element(element.id)
    assert done.status is QueueStatus.DONE and done.end_date is not None
    run = store.get_pipeline_run(element.id)
    assert run is not None and run.step is None and '"third"' in run.state
    history = store.get_pipeline_history(element.id)
    assert [(row.step, row.part, row.outcome) for row in history] == [
        ("first", "start", "done"),
        ("second", "start", "done"),
        ("third", "start", "done"),
    ]
    assert all(row.job_id == oc.job_id and row.finished_date is not None for row in history)
    assert all(row.finished_date >= row.started_date for row in history)  # type: ignore[operator]


def test_an_exception_is_an_attempt_and_the_next_run_resumes_at_that_step(
    store: Store, db_url: str, crypto_key: str
) -> None:
    element = store.create_queue_element("p", "r1")
    calls: list[str] = []

    def first(_item: QueueElement, state: dict[str, Any]) -> None:
        calls.append("first")
        state["one"] = 1

    def second(_item: QueueElement, state: dict[str, Any]) -> None:
        calls.append(f"second {sorted(state)}")
        state["half-done"] = True  # discarded: the step does not finish
        raise RuntimeError("disk full")

    pipeline = Pipeline("demo", [Step("first", first), Step("second", second)])
    # A retry delay keeps the element from being claimed again by the same run at once.
    store.set_queue_settings("p", max_attempts=2, retry_delay_seconds=1)
    with _connect(db_url, crypto_key, store) as oc:
        assert pipeline.run(oc, "p").retried == 1
    again = store.get_queue_element(element.id)
    assert again.status is QueueStatus.NEW and again.attempts == 1
    assert "step 'second' failed: RuntimeError: disk full" in (again.message or "")
    time.sleep(1.1)
    with _connect(db_url, crypto_key, store) as oc:
        assert pipeline.run(oc, "p").failed == 1
    # The first step ran once; the second got the state saved after the first, twice.
    assert calls == ["first", "second ['one']", "second ['one']"]
    failed = store.get_queue_element(element.id)
    assert failed.status is QueueStatus.FAILED and failed.attempts == 2
    assert failed.message is not None
    assert "Pipeline 'demo', step 'second' failed: RuntimeError: disk full" in failed.message
    assert "FAILED after 2 of 2" in failed.message
    outcomes = [(row.step, row.outcome) for row in store.get_pipeline_history(element.id)]
    assert outcomes == [("first", "done"), ("second", "error"), ("second", "error")]
    run = store.get_pipeline_run(element.id)
    assert run is not None and run.step == "second" and "half-done" not in run.state


def test_a_waiting_step_is_continued_after_its_not_before_and_not_earlier(
    store: Store, db_url: str, crypto_key: str
) -> None:
    element = store.create_queue_element("p", "r1")
    parts: list[str] = []

    def start(_item: QueueElement, state: dict[str, Any]) -> Any:
        parts.append("start")
        state["ticket"] = "T-1"
        return wait(1.0)

    def check(_item: QueueElement, state: dict[str, Any]) -> Any:
        parts.append(f"continue {state['ticket']}")
        state["checks"] = state.get("checks", 0) + 1
        return None if state["checks"] >= 2 else wait(0.5)

    pipeline = Pipeline(
        "demo",
        [
            Step("transfer", start, on_continue=check),
            Step("notify", lambda _i, s: s.update(sent=True)),
        ],
    )
    before = datetime.now()
    with _connect(db_url, crypto_key, store) as oc:
        assert pipeline.run(oc, "p").waiting == 1
        waiting = store.get_queue_element(element.id)
        assert waiting.status is QueueStatus.NEW and not waiting.attempts
        assert waiting.not_before is not None and waiting.not_before >= before
        assert "waits in step 'transfer'" in (waiting.message or "")
        # Not claimable before its not-before: a run right away finds nothing.
        assert pipeline.run(oc, "p").handled == 0
        assert parts == ["start"]
        time.sleep(max(0.0, (waiting.not_before - datetime.now()).total_seconds()) + 0.05)
        assert pipeline.run(oc, "p").waiting == 1
        time.sleep(0.6)
        assert pipeline.run(oc, "p").done == 1
    assert parts == ["start", "continue T-1", "continue T-1"]
    history = store.get_pipeline_history(element.id)
    assert [(row.step, row.part, row.outcome) for row in history] == [
        ("transfer", "start", "waiting"),
        ("transfer", "continue", "waiting"),
        ("transfer", "continue", "done"),
        ("notify", "start", "done"),
    ]
    assert history[1].started_date >= waiting.not_before
    assert store.get_queue_element(element.id).status is QueueStatus.DONE


def test_a_step_past_its_time_limit_fails_the_element(
    store: Store, db_url: str, crypto_key: str
) -> None:
    element = store.create_queue_element("p", "r1")
    pipeline = Pipeline(
        "demo",
        [
            Step(
                "transfer",
                lambda _i, _s: wait(0.2),
                on_continue=lambda _i, _s: wait(0.2),
                time_limit=timedelta(seconds=0.5),
            ),
        ],
    )
    with _connect(db_url, crypto_key, store) as oc:
        deadline = time.monotonic() + 10
        while store.get_queue_element(element.id).status is not QueueStatus.FAILED:
            assert time.monotonic() < deadline
            pipeline.run(oc, "p")
            time.sleep(0.1)
    failed = store.get_queue_element(element.id)
    assert "step 'transfer' did not finish within its time limit" in (failed.message or "")
    assert store.get_pipeline_history(element.id)[-1].outcome == "timed out"


def test_a_run_that_lost_its_element_can_save_nothing(store: Store) -> None:
    store.set_queue_settings("p", max_attempts=3)
    element = store.create_queue_element("p", "r1")
    old_job = store.start_job("pipeline", "machine").id
    assert store.get_next_queue_element("p", job_id=old_job) is not None
    old = store.adopt_pipeline_element(element.id, old_job, "demo", "first")
    history = store.begin_pipeline_part(old, "first", "start")
    # The old job is reaped: the element goes back to NEW; another job takes it over.
    assert store.end_job(old_job, JobStatus.FAILED)
    with pytest.raises(LostElementError, match="NEW"):
        store.finish_pipeline_part(old, history, {"x": 1}, "second")
    new_job = store.start_job("pipeline", "machine").id
    assert store.get_next_queue_element("p", job_id=new_job) is not None
    with pytest.raises(LostElementError, match="held by job"):
        store.finish_pipeline_part(old, history, {"x": 1}, "second")
    new = store.adopt_pipeline_element(element.id, new_job, "demo", "first")
    assert new.step == "first" and new.state == {}
    # The interrupted history row is marked as such by the new run.
    assert store.get_pipeline_history(element.id)[0].outcome == "interrupted"
    # Same job, same element, but an older token (a second process of one job): refused.
    stale = type(new)(**{**new.__dict__, "token": uuid.uuid4()})
    with pytest.raises(LostElementError, match="taken over"):
        store.begin_pipeline_part(stale, "first", "start")
    store.finish_pipeline_part(
        new, store.begin_pipeline_part(new, "first", "start"), {"x": 2}, "second"
    )
    run = store.get_pipeline_run(element.id)
    assert run is not None and run.step == "second" and run.state == '{"x": 2}'


def test_bad_pipelines_and_states_are_refused_clearly(
    store: Store, db_url: str, crypto_key: str
) -> None:
    with pytest.raises(ValueError, match="unique"):
        Pipeline("demo", [Step("a", print), Step("a", print)])
    with pytest.raises(ValueError, match="at least one step"):
        Pipeline("demo", [])
    with pytest.raises(ValueError, match="Step name is too long"):
        Step("x" * 101, print)
    with pytest.raises(ValueError, match="either a duration"):
        wait()
    element = store.create_queue_element("p", "r1")
    other = store.create_queue_element("p", "r2")

    def not_json(_item: QueueElement, state: dict[str, Any]) -> None:
        state["when"] = datetime.now()

    with _connect(db_url, crypto_key, store) as oc:
        assert Pipeline("demo", [Step("a", not_json)]).run(oc, "p", max_elements=1).failed == 1
        message = store.get_queue_element(element.id).message or ""
        assert "step 'a' failed: BadInput: The pipeline state cannot be saved as JSON" in message
        # An element another pipeline started is refused, not run.
        store.update_queue_element(other.id, status=QueueStatus.NEW)
        claimed = oc.get_next_queue_element("p")
        assert claimed is not None and claimed.id == other.id
        store.adopt_pipeline_element(other.id, oc.job_id, "someone-else", "a")
        store.set_queue_element_status(other.id, QueueStatus.NEW)
        assert Pipeline("demo", [Step("a", print)]).run(oc, "p").failed == 1
    assert "not 'demo'" in (store.get_queue_element(other.id).message or "")


def test_queue_views_filter_by_current_step_and_deletes_take_the_progress(
    store: Store, db_url: str, crypto_key: str
) -> None:
    store.bulk_create_queue_elements("p", ["a", "b", "c"], [None] * 3)

    def stop_at_b(item: QueueElement, _state: dict[str, Any]) -> None:
        if item.reference == "b":
            raise RuntimeError("no")

    pipeline = Pipeline("demo", [Step("one", lambda _i, _s: None), Step("two", stop_at_b)])
    with _connect(db_url, crypto_key, store) as oc:
        pipeline.run(oc, "p")
    assert store.get_pipeline_steps("p") == ("two",)
    at_two = store.get_queue_elements("p", pipeline_step="two")
    assert [element.reference for element in at_two] == ["b"]
    assert store.count_queue_action("delete", "p", pipeline_step="two") == 1
    assert store.apply_queue_action("delete", "p", pipeline_step="two") == 1
    assert store.get_pipeline_steps("p") == ()
    done = store.get_queue_elements("p")
    assert {element.reference for element in done} == {"a", "c"}
    store.delete_queue_element(done[0].id)
    assert store.get_pipeline_run(done[0].id) is None
    assert store.get_pipeline_history(done[0].id) == ()


def test_run_stops_after_max_elements_and_when_its_trigger_is_pausing(
    store: Store, db_url: str, crypto_key: str
) -> None:
    from openorch.database import TriggerStatus

    store.bulk_create_queue_elements("p", ["a", "b", "c"], [None] * 3)
    trigger = store.create_queue_trigger("t", "pipeline", "p", "x.py", None, False, False, 1)
    job = store.start_job("pipeline", "machine", trigger).id
    pipeline = Pipeline("demo", [Step("only", lambda _i, _s: None)])
    with OrchestratorConnection("pipeline", db_url, crypto_key, "", trigger, job) as oc:
        assert pipeline.run(oc, "p", max_elements=1).done == 1
        store.set_trigger_status(trigger, TriggerStatus.PAUSING)
        assert pipeline.run(oc, "p").handled == 0
        assert pipeline.run(oc, "p", stop_when_paused=False).done == 2
    assert all(element.status is QueueStatus.DONE for element in store.get_queue_elements("p"))


def test_an_element_set_back_to_new_after_every_step_finished_is_done_again_at_once(
    store: Store, db_url: str, crypto_key: str
) -> None:
    element = store.create_queue_element("p", "r1")
    calls: list[str] = []
    pipeline = Pipeline("demo", [Step("only", lambda _i, _s: calls.append("only"))])
    with _connect(db_url, crypto_key, store) as oc:
        assert pipeline.run(oc, "p").done == 1
        assert store.apply_queue_action("retry", "p", status="DONE") == 0  # DONE is final
        store.set_queue_element_status(element.id, QueueStatus.NEW)  # an admin's edit
        assert pipeline.run(oc, "p").done == 1
    assert calls == ["only"]  # the finished step did not run again
    assert store.get_queue_element(element.id).status is QueueStatus.DONE

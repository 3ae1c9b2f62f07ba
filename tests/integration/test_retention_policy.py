"""The stored retention policy and the record of prune runs (issue 29), on SQLite and
PostgreSQL: bad input changes nothing, a pass over the policy is recorded per kind, and
rows still referenced (a failed element of an unfinished pipeline, an element in review)
survive."""

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from openorch.database import (
    Log,
    LogLevel,
    PipelineRun,
    PruneRun,
    QueueElement,
    QueueStatus,
    ReviewItem,
)
from openorch.store import Store
from openorch.store.errors import BadInput

OLD = datetime.now() - timedelta(days=40)


def test_the_policy_defaults_to_keep_everything_and_is_edited(store: Store) -> None:
    assert store.get_retention_policy() == {}
    policy = store.set_retention_policy({"logs": "90", "jobs": 365}, "anna (token)")
    assert policy == {"logs": 90, "jobs": 365}
    # Kinds not named stay; blank or None keeps a kind whole again.
    assert store.set_retention_policy({"alerts": 30, "jobs": ""}) == {"logs": 90, "alerts": 30}
    assert store.set_retention_policy({"alerts": None}) == {"logs": 90}


@pytest.mark.parametrize(
    ("kind", "value", "says"),
    [
        ("logs", "-3", "must be at least 1, not -3"),
        ("logs", -3, "must be at least 1, not -3"),
        ("logs", "0", "must be at least 1, not 0"),
        ("logs", "ninety", "must be a whole number of days"),
        ("logs", "1.5", "must be a whole number of days"),
        ("logs", 1.5, "must be a whole number of days"),
        ("logs", True, "must be a whole number of days"),
        ("logs", "99999999", "must be at most 36,500"),
        ("logz", "30", "Unknown kind of data 'logz'"),
    ],
)
def test_bad_input_changes_nothing(store: Store, kind: str, value: object, says: str) -> None:
    store.set_retention_policy({"logs": 90})
    with pytest.raises(BadInput, match=says):
        # A good value beside the bad one is not saved either.
        store.set_retention_policy({"jobs": 10, kind: value})
    assert store.get_retention_policy() == {"logs": 90}


def _old_log(store: Store, count: int) -> None:
    with Session(store.engine) as session, session.begin():
        for _ in range(count):
            session.add(
                Log(log_time=OLD, log_level=LogLevel.INFO, process_name="p", log_message="o")
            )


def test_a_pass_is_recorded_per_kind(store: Store) -> None:
    _old_log(store, 3)
    run_id, results = store.prune_by_policy({"logs": 30, "jobs": 30}, "tester", dry_run=True)
    assert [result.rows for result in results] == [3, 0]
    run_id, results = store.prune_by_policy({"logs": 30, "jobs": 30}, "tester", batch_size=2)
    (real, dry) = store.get_prune_runs()
    assert real.run_id == run_id and not real.dry_run and dry.dry_run
    assert real.run_by == "tester" and real.rows == 3 and real.finished_at is not None
    assert real.seconds is not None and real.seconds >= 0
    assert [(view.kind, view.rows, view.batches, view.finished) for view in real.kinds] == [
        ("logs", 3, 2, True),
        ("jobs", 0, 0, True),
    ]
    assert [(view.kind, view.rows) for view in dry.kinds] == [("logs", 3), ("jobs", 0)]
    totals = store.get_prune_totals()
    assert totals.runs == 1 and totals.rows == {"logs": 3, "jobs": 0}
    with pytest.raises(BadInput):
        store.prune_by_policy({"logs": 0}, "tester")
    with pytest.raises(BadInput, match="batch size"):
        store.prune_by_policy({"logs": 30}, "tester", batch_size=0)
    with Session(store.engine) as session:  # refused before a run was recorded
        assert len(session.scalars(select(PruneRun.id)).all()) == 2


def _element(session: Session, status: QueueStatus) -> uuid.UUID:
    element = QueueElement(queue_name="q", created_date=OLD, status=status, end_date=OLD)
    session.add(element)
    session.flush()
    return element.id


def test_referenced_elements_survive(store: Store) -> None:
    with Session(store.engine) as session, session.begin():
        _element(session, QueueStatus.DONE)
        failed_mid_pipeline = _element(session, QueueStatus.FAILED)
        failed_at_the_end = _element(session, QueueStatus.FAILED)
        in_review = _element(session, QueueStatus.FAILED)
        reviewed = _element(session, QueueStatus.DONE)
        for element, step in ((failed_mid_pipeline, "two"), (failed_at_the_end, None)):
            session.add(
                PipelineRun(
                    element_id=element, queue_name="q", pipeline="pl", step=step, state="{}"
                )
            )
    with Session(store.engine) as session, session.begin():
        # One element waits for a person (open), one was decided long ago.
        session.add(ReviewItem(element_id=in_review, queue_name="q", kind="business"))
        session.add(
            ReviewItem(
                element_id=reviewed,
                queue_name="q",
                kind="business",
                state="decided",
                decision="done",
                decided_date=OLD,
            )
        )
    assert store.prune("queue_elements", 30).rows == 3
    with Session(store.engine) as session:
        left = set(session.scalars(select(QueueElement.id)))
        assert left == {failed_mid_pipeline, in_review}
        assert session.scalars(select(ReviewItem.element_id)).all() == [in_review]


def test_a_pass_cut_short_by_losing_the_lease_says_so(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watchdog records its pass as it goes; when another Scheduler takes the lease
    mid-pass, the run is stamped finished with why (the next holder's pass goes on)."""
    from openorch.alerts import watchdog as module

    _old_log(store, 3)
    store.set_retention_policy({"logs": 30})
    monkeypatch.setattr(module, "PRUNE_SLICE", 0.0)  # no time to prune in this tick
    holder = module.Watchdog(store, "vm1", lambda _line: None, interval=30)
    other = module.Watchdog(store, "vm2", lambda _line: None, interval=30)
    holder.tick()
    (run,) = store.get_prune_runs()
    assert run.finished_at is None and run.run_by == holder.holder
    store.release_watchdog_lease(holder.holder)
    other.tick()
    assert other.is_holder
    holder.tick()
    (run,) = [one for one in store.get_prune_runs() if one.run_by == holder.holder]
    assert run.finished_at is not None and run.rows == 0
    assert run.note == "this Scheduler lost the watchdog lease; the next pass goes on"
    other.stop()
    holder.stop()

"""The review inbox and element history (issue 27), in one process on SQLite and
PostgreSQL: business vs application failures, the per-queue setting, the decisions,
two deciders at once, a pipeline asking a person, and the history in order with who."""

import json
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest

from openorch.database import QueueElement, QueueStatus
from openorch.sdk import BusinessError, OrchestratorConnection, Pipeline, Step, wait_for_review
from openorch.store import AlreadyDecided, ReviewFilter, Store
from openorch.store.errors import BadInput, NotFound


def _connect(db_url: str, key: str, store: Store) -> OrchestratorConnection:
    job = store.start_job("robot", "machine-1").id
    return OrchestratorConnection("robot", db_url, key, "", job_id=job)


def _claimed(store: Store, queue: str) -> QueueElement:
    element = store.get_next_queue_element(queue)
    assert element is not None
    return element


def test_business_failure_goes_to_review_and_stays_failed(store: Store) -> None:
    element = store.create_queue_element("invoices", "r1", "{}")
    _claimed(store, "invoices")
    store.set_queue_element_status(
        element.id, QueueStatus.FAILED, "Unknown customer", kind="business"
    )
    assert store.get_queue_element(element.id).status is QueueStatus.FAILED
    [entry] = store.list_review_items()
    assert (entry.item.kind, entry.item.reason, entry.item.state) == (
        "business",
        "Unknown customer",
        "open",
    )
    assert entry.element.id == element.id
    assert store.review_backlog()[0] == 1


def test_application_failure_without_kind_is_as_before(store: Store) -> None:
    element = store.create_queue_element("invoices", "r1", "{}")
    _claimed(store, "invoices")
    store.set_queue_element_status(element.id, QueueStatus.FAILED, "Timeout")
    assert store.get_queue_element(element.id).status is QueueStatus.FAILED
    assert store.list_review_items() == ()
    with pytest.raises(BadInput):
        store.set_queue_element_status(element.id, QueueStatus.DONE, kind="business")
    with pytest.raises(BadInput):
        store.set_queue_element_status(element.id, QueueStatus.FAILED, kind="weird")


def test_setting_turns_business_review_off_and_exhausted_review_on(store: Store) -> None:
    store.set_queue_settings("q", max_attempts=2, review_business=False, review_exhausted=True)
    settings = store.get_queue_settings("q")
    assert (settings.review_business, settings.review_exhausted) == (False, True)
    business = store.create_queue_element("q", "b")
    _claimed(store, "q")
    assert store.retry_queue_element(business.id, "bad case", kind="business") is (
        QueueStatus.FAILED
    )
    assert store.list_review_items() == ()
    app = store.create_queue_element("q", "a")
    _claimed(store, "q")
    assert store.retry_queue_element(app.id, "timeout") is QueueStatus.NEW
    store.update_queue_element(app.id, status=QueueStatus.NEW)
    _claimed(store, "q")
    assert store.retry_queue_element(app.id, "timeout again") is QueueStatus.FAILED
    [entry] = store.list_review_items()
    assert entry.element.id == app.id and entry.item.kind == "application"


def test_retry_with_edited_data_resets_attempts(store: Store) -> None:
    store.set_queue_settings("q", max_attempts=3)
    element = store.create_queue_element("q", "r", "old")
    _claimed(store, "q")
    store.retry_queue_element(element.id, "timeout")
    _claimed(store, "q")
    store.set_queue_element_status(element.id, QueueStatus.FAILED, "no such id", kind="business")
    [entry] = store.list_review_items()
    decided = store.decide_review_item(
        entry.item.id, "retry", None, "alice", data='{"customer": 7}'
    )
    assert (decided.item.state, decided.item.decision, decided.item.decided_by) == (
        "decided",
        "retry",
        "alice",
    )
    again = store.get_queue_element(element.id)
    assert (again.status, again.attempts, again.data) == (QueueStatus.NEW, 0, '{"customer": 7}')
    assert store.list_review_items() == ()
    assert _claimed(store, "q").id == element.id


@pytest.mark.parametrize(
    ("decision", "status"),
    [
        ("done", QueueStatus.DONE),
        ("failed", QueueStatus.FAILED),
        ("abandon", QueueStatus.ABANDONED),
    ],
)
def test_final_decisions_need_a_comment_and_end_the_element(
    store: Store, decision: str, status: QueueStatus
) -> None:
    element = store.create_queue_element("q", "r")
    _claimed(store, "q")
    store.set_queue_element_status(element.id, QueueStatus.FAILED, "bad", kind="business")
    [entry] = store.list_review_items()
    with pytest.raises(BadInput, match="comment is required"):
        store.decide_review_item(entry.item.id, decision, "  ", "bob")
    assert store.get_review_item(entry.item.id).item.state == "open"
    store.decide_review_item(entry.item.id, decision, "handled by phone", "bob")
    ended = store.get_queue_element(element.id)
    assert ended.status is status and "handled by phone" in (ended.message or "")
    assert store.list_review_items() == ()
    decided = store.list_review_items(ReviewFilter(state="decided"))
    assert [one.item.decision for one in decided] == [decision]


def test_two_deciders_at_once_exactly_one_wins(store: Store, db_url: str) -> None:
    element = store.create_queue_element("q", "r")
    _claimed(store, "q")
    store.set_queue_element_status(element.id, QueueStatus.FAILED, "bad", kind="business")
    [entry] = store.list_review_items()
    other = Store(db_url)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def decide(who: Store, name: str, decision: str) -> None:
        barrier.wait()
        try:
            who.decide_review_item(entry.item.id, decision, f"by {name}", name)
            outcomes.append(f"won:{name}")
        except AlreadyDecided as error:
            outcomes.append(f"told:{name}:{error}")

    threads = [
        threading.Thread(target=decide, args=(store, "alice", "done")),
        threading.Thread(target=decide, args=(other, "bob", "abandon")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    other.close()
    assert sorted(outcome.split(":")[0] for outcome in outcomes) == ["told", "won"], outcomes
    winner = next(outcome.split(":")[1] for outcome in outcomes if outcome.startswith("won"))
    told = next(outcome for outcome in outcomes if outcome.startswith("told"))
    assert f"already decided by {winner}" in told
    decided = [e for e in store.get_element_history(element.id) if e.event == "decided"]
    assert len(decided) == 1 and decided[0].actor == winner


def test_decide_many_by_filter(store: Store) -> None:
    for index in range(4):
        store.create_queue_element("a" if index < 3 else "b", f"r{index}", f"data {index}")
    for queue in ("a", "a", "a", "b"):
        element = _claimed(store, queue)
        store.set_queue_element_status(element.id, QueueStatus.FAILED, "bad", kind="business")
    chosen = ReviewFilter(queue="a")
    assert store.count_review_items(chosen) == 3
    assert store.decide_review_items(chosen, "abandon", "closed in bulk", "carol") == 3
    assert store.count_review_items(chosen) == 0
    assert store.count_review_items() == 1
    assert store.count_review_items(ReviewFilter(text="data 3")) == 1
    assert store.count_review_items(ReviewFilter(older_than=timedelta(hours=1))) == 0


def test_assign_and_filter_by_assignee(store: Store) -> None:
    element = store.create_queue_element("q", "r")
    _claimed(store, "q")
    store.set_queue_element_status(element.id, QueueStatus.FAILED, "bad", kind="business")
    [entry] = store.list_review_items()
    assert store.count_review_items(ReviewFilter(assignee="")) == 1
    store.assign_review_item(entry.item.id, "dana")
    assert store.count_review_items(ReviewFilter(assignee="dana")) == 1
    assert store.count_review_items(ReviewFilter(assignee="")) == 0


def test_an_element_moved_on_is_no_longer_in_review(store: Store) -> None:
    element = store.create_queue_element("q", "r")
    _claimed(store, "q")
    store.set_queue_element_status(element.id, QueueStatus.FAILED, "bad", kind="business")
    [entry] = store.list_review_items()
    store.set_queue_element_status(element.id, QueueStatus.NEW)  # e.g. the original's tools
    assert store.list_review_items() == ()
    with pytest.raises(BadInput, match="no longer waiting"):
        store.decide_review_item(entry.item.id, "done", "late", "erin")
    assert store.get_review_item(entry.item.id).item.state == "open"


def test_pipeline_business_vs_application(store: Store, db_url: str, crypto_key: str) -> None:
    store.set_queue_settings("p", max_attempts=2, review_exhausted=True)
    business = store.create_queue_element("p", "business", "{}")
    application = store.create_queue_element("p", "application", "{}")
    calls: dict[str, int] = {"business": 0, "application": 0}

    def fetch(item: QueueElement, state: dict[str, Any]) -> None:
        state["fetched"] = True

    def check(item: QueueElement, state: dict[str, Any]) -> None:
        assert item.reference is not None
        calls[item.reference] += 1
        if item.reference == "business":
            raise BusinessError("Unknown customer 42")
        raise ConnectionError("portal down")

    pipeline = Pipeline("invoices", [Step("fetch", fetch), Step("check", check)])
    with _connect(db_url, crypto_key, store) as oc:
        summary = pipeline.run(oc, "p")  # the retried one is claimable again at once
    assert (summary.review, summary.retried, summary.handled) == (2, 1, 3)
    assert calls == {"business": 1, "application": 2}
    items = {entry.element.reference: entry for entry in store.list_review_items()}
    assert items["business"].item.kind == "business"
    assert items["application"].item.kind == "application"
    run = store.get_pipeline_run(business.id)
    assert run is not None and run.step == "check" and json.loads(run.state) == {"fetched": True}
    assert store.get_queue_element(application.id).status is QueueStatus.FAILED


def test_pipeline_waits_for_a_person_and_resumes_with_the_form(
    store: Store, db_url: str, crypto_key: str
) -> None:
    element = store.create_queue_element("p", "r", "{}")
    seen: list[dict[str, Any]] = []

    def ask(_item: QueueElement, state: dict[str, Any]) -> Any:
        state["asked"] = True
        return wait_for_review("Approve the payment?", form={"amount": "Amount to pay"})

    def pay(_item: QueueElement, state: dict[str, Any]) -> None:
        seen.append(json.loads(json.dumps(state)))

    pipeline = Pipeline("payments", [Step("ask", ask), Step("pay", pay)])
    with _connect(db_url, crypto_key, store) as oc:
        assert pipeline.run(oc, "p").review == 1
        assert store.get_queue_element(element.id).status is QueueStatus.FAILED
        [entry] = store.list_review_items()
        assert entry.item.kind == "decision" and entry.form_fields == {"amount": "Amount to pay"}
        with pytest.raises(BadInput, match="can be decided"):
            store.decide_review_item(entry.item.id, "retry", None, "frank")
        store.decide_review_item(
            entry.item.id, "continue", "ok", "frank", form_values={"amount": "120.50"}
        )
        assert store.get_review_item(entry.item.id).values == {"amount": "120.50"}
        assert pipeline.run(oc, "p").done == 1
    assert seen == [
        {
            "asked": True,
            "review": {
                "decision": "continue",
                "values": {"amount": "120.50"},
                "comment": "ok",
                "decided_by": "frank",
            },
        }
    ]
    assert store.get_queue_element(element.id).status is QueueStatus.DONE


def test_history_every_event_once_in_order_with_who(
    store: Store, db_url: str, crypto_key: str
) -> None:
    store.set_queue_settings("h", max_attempts=2)
    with _connect(db_url, crypto_key, store) as oc:
        element = oc.create_queue_element("h", "r1", "{}")
        job = oc.job_id
        assert oc.get_next_queue_element("h") is not None
        oc.retry_queue_element(element.id, "timeout")
        store.update_queue_element(element.id, status=QueueStatus.NEW)
        assert oc.get_next_queue_element("h") is not None
        oc.set_queue_element_status(element.id, QueueStatus.FAILED, "bad case", kind="business")
    [entry] = store.list_review_items()
    store.decide_review_item(entry.item.id, "retry", "fixed", "admin-1", data='{"x": 1}')
    timeline = store.get_element_history(element.id)
    events = [(entry.event, entry.actor) for entry in timeline]
    process = f"process robot, job {job}"
    assert events == [
        ("created", process),
        ("claimed", f"job {job}"),
        ("retried", process),
        ("claimed", f"job {job}"),
        ("failed", process),
        ("review", process),
        ("edited", "admin-1"),
        ("decided", "admin-1"),
    ], events
    failed = next(entry for entry in timeline if entry.event == "failed")
    assert failed.details["kind"] == "business" and failed.details["message"] == "bad case"
    claimed = next(entry for entry in timeline if entry.event == "claimed")
    assert claimed.details["scheduler"] == "machine-1"
    decided = timeline[-1]
    assert decided.details["decision"] == "retry" and decided.details["comment"] == "fixed"
    assert timeline[-2].details["fields"] == ["data"]
    # Claimed and DONE of the happy path come from the element's own columns.
    assert _claimed(store, "h").id == element.id
    store.set_queue_element_status(element.id, QueueStatus.DONE)
    last = store.get_element_history(element.id)[-2:]
    assert [entry.event for entry in last] == ["claimed", "done"]
    assert all(not entry.recorded for entry in last)


def test_release_by_job_end_is_recorded(store: Store) -> None:
    store.set_queue_settings("q", max_attempts=2)
    element = store.create_queue_element("q", "r")
    job = store.start_job("proc", "machine-2")
    assert store.get_next_queue_element("q", job_id=job.id) is not None
    from openorch.database import JobStatus

    store.end_job(job.id, JobStatus.FAILED)
    timeline = store.get_element_history(element.id)
    released = [entry for entry in timeline if entry.event == "released"]
    assert len(released) == 1 and released[0].actor == f"job {job.id}"
    assert released[0].details["status"] == "NEW"


def test_an_admins_bulk_retry_and_abandon_are_recorded_per_element(store: Store) -> None:
    """The queue dialog's bulk actions change many elements at once; each changed element's
    history names the admin, and an element the filter skips gets no row."""
    kept = store.create_queue_element("bulk", "new-one")
    failed = [store.create_queue_element("bulk", f"f{index}") for index in range(3)]
    for element in failed:
        store.set_queue_element_status(element.id, QueueStatus.FAILED, "boom")
    assert store.apply_queue_action("retry", "bulk", status="FAILED", actor="anna (oidc)") == 3
    for element in failed:
        retried = [e for e in store.get_element_history(element.id) if e.event == "retried"]
        assert [(e.actor, e.details["status"]) for e in retried] == [("anna (oidc)", "NEW")]
    assert not [e for e in store.get_element_history(kept.id) if e.event == "retried"]
    assert store.apply_queue_action("abandon", "bulk", actor="olga (ldap)") == 4
    for element in [kept, *failed]:
        (abandoned,) = [e for e in store.get_element_history(element.id) if e.event == "abandoned"]
        assert abandoned.actor == "olga (ldap)" and abandoned.details["status"] == "ABANDONED"
    assert store.apply_queue_action("abandon", "bulk", actor="olga (ldap)") == 0


def test_a_status_set_back_to_new_or_abandoned_is_recorded(store: Store) -> None:
    """`set_queue_element_status` to NEW or ABANDONED (the original's call, from a
    process) is a row in the history; DONE is read from the element's own columns."""
    element = store.create_queue_element("set", "r")
    _claimed(store, "set")
    store.set_queue_element_status(element.id, QueueStatus.NEW, "try again", actor="robot")
    store.set_queue_element_status(element.id, QueueStatus.ABANDONED, actor="robot")
    events = [(e.event, e.actor) for e in store.get_element_history(element.id) if e.recorded]
    assert events[-2:] == [("retried", "robot"), ("abandoned", "robot")]
    with pytest.raises(NotFound):
        store.set_queue_element_status(uuid.uuid4(), QueueStatus.NEW)


def test_events_of_one_moment_are_shown_in_the_order_they_happen(store: Store) -> None:
    """An edit and the decision it came with share one moment (one transaction); the
    timeline shows the edit first whatever their ids say (random within a millisecond:
    the API's history test once saw them swapped)."""
    from openorch.database import ElementEvent
    from openorch.database.base import table_of

    element = store.create_queue_element("q", reference="r")
    moment = element.created_date + timedelta(minutes=1)
    rows = [  # the decision's id sorts first
        {"id": uuid.UUID(int=1), "event": "decided", "actor": "clerk"},
        {"id": uuid.UUID(int=2), "event": "edited", "actor": "clerk"},
    ]
    with store.engine.begin() as connection:
        for row in rows:
            connection.execute(
                table_of(ElementEvent).insert().values(element_id=element.id, at=moment, **row)
            )
    events = [entry.event for entry in store.get_element_history(element.id)]
    assert events == ["created", "edited", "decided"]

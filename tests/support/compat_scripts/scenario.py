"""Scripted sequences of calls through whichever `OpenOrchestrator` package is importable
(the original 3.0.0 in its side virtualenv, or openorch's compatibility package); prints
one JSON line. The tests run each mode under both and compare.

    python scenario.py calls URL KEY   every public call, valid and edge inputs, in order
    python scenario.py write URL KEY   write one of everything (for the other to read)
    python scenario.py read URL KEY    read everything back
    python scenario.py cycle URL KEY   one cycle of the original Scheduler's own calls
    python scenario.py create URL KEY  create the tables as the original's alembic does

`calls` and `create` start from an empty database (dropping what is there); `write` and
`cycle` expect tables (made by `create` or by `openorch upgrade`).
"""

import json
import sys
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from normalise import Normaliser
from sqlalchemy import text

from OpenOrchestrator.common import crypto_util
from OpenOrchestrator.database import base, db_util
from OpenOrchestrator.database.jobs import JobStatus
from OpenOrchestrator.database.logs import LogLevel
from OpenOrchestrator.database.queues import QueueStatus
from OpenOrchestrator.database.triggers import (
    QueueTrigger,
    ScheduledTrigger,
    SingleTrigger,
    TriggerStatus,
)
from OpenOrchestrator.orchestrator_connection.connection import OrchestratorConnection

PAST = datetime(2020, 1, 2, 3, 4, 5)
FUTURE = datetime(2099, 1, 2, 3, 4, 5)
OTHER_KEY = "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28="  # a valid key, not the run's

N = Normaliser()
results: list[list[Any]] = []


def step(
    name: str,
    call: Callable[[], Any],
    *,
    sort_key: Callable[[Any], Any] | None = None,
    shape: Callable[[Any], Any] | None = None,
    undo: Callable[[Any], Any] | None = None,
) -> Any:
    """Run one call and record its normalised result (or the error it raised).

    `undo` removes what a call made where the two programs deliberately differ (the
    original stores what openorch refuses), so later steps start from the same rows; its
    result is normalised without giving its ids labels, for the same reason."""
    try:
        value = call()
    except Exception as error:
        results.append([name, N.error(error)])
        return None
    if undo is not None:
        undo(value)
        results.append([name, Normaliser()(value)])
        return value
    shown = value
    if sort_key is not None:
        shown = type(value)(sorted(value, key=sort_key))
    if shape is not None:
        shown = shape(shown)
    results.append([name, N(shown)])
    return value


def rows(values: Any) -> list[dict[str, Any]]:
    """The original's table rows of a sequence of ORM objects ("Short Job ID", a random
    id's first 8 characters, as whether it is the full id's first 8)."""
    found = [item.to_row_dict() for item in values]
    for row in found:
        if "Short Job ID" in row:
            row["Short Job ID"] = row["Short Job ID"] == str(row["Full Job ID"])[:8]
    return found


def engine() -> Any:
    return db_util._connection_engine


def fresh(url: str) -> None:
    """Connect and start from empty tables, as the original's own tests do."""
    assert db_util.connect(url), f"cannot connect to {url}"
    base.Base.metadata.drop_all(engine())
    with engine().begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        connection.execute(text("DROP TABLE IF EXISTS openorch_version"))
    base.Base.metadata.create_all(engine())


# --- calls --------------------------------------------------------------------------------


def calls(url: str, key: str) -> None:
    fresh(url)
    step("check_database_revision (no version table)", db_util.check_database_revision)
    step("get_conn_string", lambda: db_util.get_conn_string() == url)

    # crypto_util
    step("crypto set_key/get_key", lambda: (crypto_util.set_key(key), crypto_util.get_key()))
    step("crypto round trip", lambda: crypto_util.decrypt_string(crypto_util.encrypt_string("pw")))
    step("crypto token length", lambda: len(crypto_util.encrypt_string("p" * 40)))
    step("validate_key good", lambda: crypto_util.validate_key(key))
    step("validate_key bad", lambda: crypto_util.validate_key("not a key"))
    step("generate_key", lambda: crypto_util.validate_key(crypto_util.generate_key().decode()))
    token = crypto_util.encrypt_string("secret")
    crypto_util.set_key(OTHER_KEY)
    step("decrypt with another key", lambda: crypto_util.decrypt_string(token))
    crypto_util.set_key(None)
    step("encrypt without a key", lambda: crypto_util.encrypt_string("x"))
    step("decrypt without a key", lambda: crypto_util.decrypt_string(token))
    crypto_util.set_key(key)

    # constants
    step("create_constant", lambda: db_util.create_constant("c1", "v1") and None)
    step("create_constant number", lambda: db_util.create_constant("c2", 42) and None)
    step("create_constant empty value", lambda: db_util.create_constant("c3", "") and None)
    step("create_constant duplicate", lambda: db_util.create_constant("c1", "again"))
    step("get_constant", lambda: db_util.get_constant("c1"))
    step("get_constant number", lambda: db_util.get_constant("c2").value)
    step("get_constant missing", lambda: db_util.get_constant("nope"))
    step("update_constant", lambda: db_util.update_constant("c1", "v2"))
    step("update_constant missing", lambda: db_util.update_constant("nope", "v"))
    step("get_constants", lambda: db_util.get_constants())
    step("constant to_row_dict", lambda: rows(db_util.get_constants()))
    step("delete_constant", lambda: db_util.delete_constant("c3"))
    step("delete_constant missing", lambda: db_util.delete_constant("nope"))

    # credentials
    step("create_credential", lambda: db_util.create_credential("k1", "user", "pw") and None)
    step("create_credential duplicate", lambda: db_util.create_credential("k1", "u", "p"))
    step("get_credential", lambda: db_util.get_credential("k1"))
    step("get_credential encrypted", lambda: db_util.get_credential("k1", False))
    step("get_credential missing", lambda: db_util.get_credential("nope"))
    step("format_password", lambda: db_util.get_credential("k1", False).format_password())
    step("update_credential", lambda: db_util.update_credential("k1", "user2", "pw2"))
    step("update_credential missing", lambda: db_util.update_credential("nope", "u", "p"))
    step("get_credentials", lambda: db_util.get_credentials())
    step("credential to_row_dict", lambda: rows(db_util.get_credentials()))
    crypto_util.set_key(OTHER_KEY)
    step("get_credential with another key", lambda: db_util.get_credential("k1"))
    crypto_util.set_key(None)
    step("get_credential without a key", lambda: db_util.get_credential("k1"))
    step("create_credential without a key", lambda: db_util.create_credential("k2", "u", "p"))
    crypto_util.set_key(key)
    step("delete_credential", lambda: db_util.delete_credential("k1"))
    step("delete_credential missing", lambda: db_util.delete_credential("k1"))

    # triggers
    single = step(
        "create_single_trigger",
        lambda: db_util.create_single_trigger(
            "single", "P1", PAST, "path.py", "args", False, False, 0
        ),
    )
    scheduled = step(
        "create_scheduled_trigger",
        lambda: db_util.create_scheduled_trigger(
            "scheduled", "P2", "0 0 * * *", PAST, "path.py", "", True, True, 5, ["M1"], "dev"
        ),
    )
    queue = step(
        "create_queue_trigger",
        lambda: db_util.create_queue_trigger(
            "queue", "P3", "trigger queue", "", None, False, False, 2, 1, []
        ),
    )
    step(
        "create_single_trigger empty names",
        lambda: (
            db_util.create_single_trigger("", "", FUTURE, "", "", False, False, 0, None, None)
            and None
        ),
    )
    step(
        "create_scheduled_trigger bad cron",
        lambda: db_util.create_scheduled_trigger(
            "bad", "P", "not cron", PAST, "p", "", False, False, 0
        ),
        undo=db_util.delete_trigger,
    )
    step(
        "create_constant too long",
        lambda: db_util.create_constant("long", "v" * 1001),
        undo=lambda _none: db_util.delete_constant("long"),
    )
    step(
        "create_queue_element NUL",
        lambda: db_util.create_queue_element("nul", "a\x00b"),
        undo=lambda element: db_util.delete_queue_element(element.id),
    )
    step("get_trigger single", lambda: db_util.get_trigger(single))
    step("get_trigger by string", lambda: db_util.get_trigger(str(scheduled)))
    step("get_trigger queue", lambda: db_util.get_trigger(queue))
    step("get_trigger missing", lambda: db_util.get_trigger(uuid.uuid4()))
    step("whitelist membership", lambda: "M1" in db_util.get_trigger(scheduled).scheduler_whitelist)
    step("empty whitelist", lambda: db_util.get_trigger(queue).scheduler_whitelist)
    step("no whitelist", lambda: db_util.get_trigger(single).scheduler_whitelist)
    by_name = lambda t: t.trigger_name  # noqa: E731
    step("get_all_triggers", db_util.get_all_triggers, sort_key=by_name)
    step("trigger to_row_dict", lambda: rows(db_util.get_all_triggers()), sort_key=str)
    step("get_single_triggers", db_util.get_single_triggers, sort_key=by_name)
    step("get_scheduled_triggers", db_util.get_scheduled_triggers)
    step("get_queue_triggers", db_util.get_queue_triggers)
    step("get_pending_single_triggers", db_util.get_pending_single_triggers)
    step("get_pending_scheduled_triggers", db_util.get_pending_scheduled_triggers)
    step("get_pending_queue_triggers (empty queue)", db_util.get_pending_queue_triggers)

    def edit_whitelist() -> Any:
        trigger = db_util.get_trigger(single)
        trigger.scheduler_whitelist = ["m1"]
        trigger.priority = 3
        db_util.update_trigger(trigger)
        return db_util.get_trigger(single)

    step("update_trigger whitelist (the trigger popup)", edit_whitelist)
    step("begin_single_trigger", lambda: db_util.begin_single_trigger(single))
    step("begin_single_trigger again", lambda: db_util.begin_single_trigger(single))
    step("begin_scheduled_trigger", lambda: db_util.begin_scheduled_trigger(scheduled))
    step("next_run stepped", lambda: db_util.get_trigger(scheduled).next_run > PAST)
    step("set_trigger_status", lambda: db_util.set_trigger_status(single, TriggerStatus.PAUSED))
    step("status after set", lambda: db_util.get_trigger(single).process_status)
    step(
        "set_trigger_status missing",
        lambda: db_util.set_trigger_status(uuid.uuid4(), TriggerStatus.IDLE),
    )

    def update_deleted() -> Any:
        trigger = db_util.get_trigger(queue)
        db_util.delete_trigger(queue)
        trigger.trigger_name = "renamed"
        return db_util.update_trigger(trigger)

    step("update_trigger on a deleted trigger", update_deleted)
    step("delete_trigger missing", lambda: db_util.delete_trigger(queue))

    # logs
    job_text = str(uuid.uuid4())
    step("create_log", lambda: db_util.create_log("P1", LogLevel.INFO, None, "first") and None)
    step(
        "create_log str job",
        lambda: db_util.create_log("P1", LogLevel.ERROR, job_text, "second") and None,
    )
    step(
        "create_log uuid job",
        lambda: db_util.create_log("P2", LogLevel.TRACE, uuid.UUID(job_text), "x" * 9000) and None,
    )
    step("get_logs", lambda: db_util.get_logs(0, 100))
    step("get_logs no limit", lambda: db_util.get_logs(0, 0))
    step("get_logs level", lambda: db_util.get_logs(0, 100, log_level=LogLevel.ERROR))
    step("get_logs process", lambda: db_util.get_logs(0, 100, process_name="P2"))
    step("get_logs job", lambda: db_util.get_logs(0, 100, job_id=job_text))
    step("get_logs dates", lambda: db_util.get_logs(0, 100, from_date=PAST, to_date=FUTURE))
    for key_name in (
        "level",
        "message",
        "short_job_id",
        "full_job_id",
        "process_name",
        "none",
        "Log Time",
        "Level",
    ):
        step(
            f"get_logs order_by {key_name}",
            lambda k=key_name: [
                (log.log_level, log.log_message[:10])
                for log in db_util.get_logs(0, 100, order_by=k, order_desc=False)
            ],
        )
    step("get_logs include_count", lambda: db_util.get_logs(1, 1, include_count=True))
    step("get_logs paging", lambda: db_util.get_logs(1, 1))
    step("log to_row_dict", lambda: rows(db_util.get_logs(0, 100)))
    step("get_unique_log_process_names", db_util.get_unique_log_process_names)

    # jobs
    job = step("start_job", lambda: db_util.start_job("P1", "M1"))
    step("get_job", lambda: db_util.get_job(job.id))
    step("get_job by string", lambda: db_util.get_job(str(job.id)))
    step("get_job missing", lambda: db_util.get_job(uuid.uuid4()))
    step("set_job_status", lambda: db_util.set_job_status(job.id, JobStatus.DONE))
    step("job after set", lambda: db_util.get_job(job.id))
    step("set_job_status missing", lambda: db_util.set_job_status(uuid.uuid4(), JobStatus.DONE))
    step("get_jobs", lambda: db_util.get_jobs())
    step("get_jobs status", lambda: db_util.get_jobs(JobStatus.RUNNING))
    step("get_jobs process", lambda: db_util.get_jobs(process_name="P1"))
    step("job to_row_dict", lambda: rows(db_util.get_jobs()))

    # queues
    first = step(
        "create_queue_element", lambda: db_util.create_queue_element("q", "ref1", "data1", "me")
    )
    step(
        "create_queue_element number reference",
        lambda: db_util.create_queue_element("q", reference=1254).reference,
    )
    step(
        "bulk_create_queue_elements (the docs' example)",
        lambda: db_util.bulk_create_queue_elements(
            "My bulk queue", references=[1, 2, 3, 4, None], data=["a", "b", "c", "d", "e"]
        ),
    )
    step(
        "bulk_create_queue_elements empty", lambda: db_util.bulk_create_queue_elements("q", (), ())
    )
    step(
        "bulk_create_queue_elements unequal",
        lambda: db_util.bulk_create_queue_elements("q", ("a",), ("1", "2")),
    )
    by_reference = lambda e: (str(e.reference), str(e.data))  # noqa: E731
    step(
        "bulk elements", lambda: db_util.get_queue_elements("My bulk queue"), sort_key=by_reference
    )
    step(
        "get_queue_elements limit None",
        lambda: len(db_util.get_queue_elements("My bulk queue", limit=None)),
    )
    step(
        "get_queue_elements limit 0",
        lambda: len(db_util.get_queue_elements("My bulk queue", limit=0)),
    )
    step(
        "get_queue_elements order_by none",
        lambda: len(db_util.get_queue_elements("q", order_by="none")),
    )
    step(
        "get_queue_elements order_by reference",
        lambda: [
            e.reference
            for e in db_util.get_queue_elements("q", order_by="reference", order_desc=True)
        ],
    )
    step(
        "get_queue_elements search",
        lambda: [e.reference for e in db_util.get_queue_elements("q", search_term="data")],
    )
    step(
        "get_queue_elements include_count",
        lambda: db_util.get_queue_elements("q", include_count=True, limit=1)[1],
    )
    step(
        "get_queue_elements status", lambda: db_util.get_queue_elements("q", status=QueueStatus.NEW)
    )
    step("get_queue_element", lambda: db_util.get_queue_element(first.id))
    step("get_queue_element missing", lambda: db_util.get_queue_element(uuid.uuid4()))
    step("get_next_queue_element", lambda: db_util.get_next_queue_element("q"))
    step(
        "get_next_queue_element reference",
        lambda: db_util.get_next_queue_element("My bulk queue", "3", set_status=False),
    )
    step("get_next_queue_element empty", lambda: db_util.get_next_queue_element("none here"))
    step(
        "set_queue_element_status number message",
        lambda: db_util.set_queue_element_status(first.id, QueueStatus.DONE, message=42),
    )
    step("element after status", lambda: db_util.get_queue_element(first.id))
    step(
        "set_queue_element_status missing",
        lambda: db_util.set_queue_element_status(uuid.uuid4(), QueueStatus.DONE),
    )
    step(
        "update_queue_element",
        lambda: db_util.update_queue_element(
            first.id,
            reference="new ref",
            status=QueueStatus.FAILED,
            data="d2",
            message="m2",
            created_by="you",
            start_date=PAST,
            end_date=FUTURE,
        ),
    )
    step("element after update", lambda: db_util.get_queue_element(first.id))
    step(
        "update_queue_element empty keeps",
        lambda: db_util.update_queue_element(
            first.id, reference="", data="", message="", created_by=""
        ),
    )
    step("element after empty update", lambda: db_util.get_queue_element(first.id))
    step(
        "update_queue_element missing",
        lambda: db_util.update_queue_element(uuid.uuid4(), reference="x"),
    )
    step("get_queue_count", db_util.get_queue_count)
    step("queue status present", lambda: QueueStatus.FAILED in db_util.get_queue_count()["q"])
    step("queue element to_row_dict", lambda: rows(db_util.get_queue_elements("q")))
    step("get_pending_queue_triggers", db_util.get_pending_queue_triggers)
    step("delete_queue_element", lambda: db_util.delete_queue_element(first.id))
    step("delete_queue_element missing", lambda: db_util.delete_queue_element(first.id))

    # schedulers
    step("send_ping_from_scheduler", lambda: db_util.send_ping_from_scheduler("M1"))
    step("send_ping_from_scheduler again", lambda: db_util.send_ping_from_scheduler("M1"))
    step("start_trigger_from_machine", lambda: db_util.start_trigger_from_machine("M1", "T"))
    step("get_schedulers", db_util.get_schedulers)
    step("scheduler to_row_dict", lambda: rows(db_util.get_schedulers()))

    # OrchestratorConnection
    trigger_text = str(scheduled)
    job_id = str(uuid.uuid4())
    db_util.create_constant("oc", "value")
    db_util.create_credential("oc", "name", "password")
    db_util.disconnect()
    crypto_util.set_key(None)
    oc = OrchestratorConnection("OC process", url, key, "the args", trigger_text, job_id)
    step(
        "oc ids are the given strings",
        lambda: (
            oc.job_id == job_id,
            oc.trigger_id == trigger_text,
            "x" + oc.job_id == "x" + job_id,
            json.dumps(oc.job_id) == json.dumps(job_id),
        ),
    )
    step("oc attributes", lambda: (oc.process_name, oc.process_arguments))
    step("db_util after oc", lambda: db_util.get_constant("oc").value)
    step("crypto_util key after oc", lambda: crypto_util.get_key() == key)
    step("oc log_info", lambda: oc.log_info("hello"))
    step("oc log_trace", lambda: oc.log_trace("trace"))
    step("oc log_error", lambda: oc.log_error("error"))
    step("oc logs", lambda: db_util.get_logs(0, 100, process_name="OC process"))
    step("oc get_constant", lambda: oc.get_constant("oc"))
    step("oc get_credential", lambda: oc.get_credential("oc"))
    step("oc update_constant", lambda: oc.update_constant("oc", "new"))
    step("oc update_credential", lambda: oc.update_credential("oc", "n2", "p2"))
    step("oc credential after", lambda: oc.get_credential("oc"))
    element = step(
        "oc create_queue_element", lambda: oc.create_queue_element("ocq", "r1", "d1", "oc")
    )
    step(
        "oc bulk_create_queue_elements",
        lambda: oc.bulk_create_queue_elements("ocq", ("r2", "r3"), ("d2", "d3")),
    )
    step("oc get_next_queue_element", lambda: oc.get_next_queue_element("ocq"))
    step("oc get_queue_elements", lambda: oc.get_queue_elements("ocq"), sort_key=by_reference)
    step(
        "oc set_queue_element_status",
        lambda: oc.set_queue_element_status(element.id, QueueStatus.DONE, "ok"),
    )
    step("oc delete_queue_element", lambda: oc.delete_queue_element(element.id))
    step("oc is_trigger_pausing", oc.is_trigger_pausing)
    step("oc pause_my_trigger", oc.pause_my_trigger)
    step("oc is_trigger_pausing after", oc.is_trigger_pausing)
    step("oc repr", lambda: repr(oc).startswith("OrchestratorConnection"))

    def from_args() -> Any:
        saved = sys.argv
        sys.argv = ["script.py", "From args", url, key, "a b", trigger_text, job_id]
        try:
            made = OrchestratorConnection.create_connection_from_args()
        finally:
            sys.argv = saved
        return (
            made.process_name,
            made.process_arguments,
            made.trigger_id == trigger_text,
            made.job_id == job_id,
            type(made).__name__,
        )

    step("oc create_connection_from_args", from_args)
    db_util.disconnect()
    step("db_util after disconnect", lambda: db_util.get_constants())
    print(json.dumps(results))


# --- write / read (each the other's data) -------------------------------------------------


def write(url: str, key: str) -> None:
    """One of everything, with the values that differ between the programs' habits."""
    assert db_util.connect(url)
    crypto_util.set_key(key)
    db_util.create_constant("constant", "value")
    db_util.create_credential("credential", "user", "password")
    db_util.create_single_trigger("single", "P", PAST, "p.py", "a", False, False, 1, ["M1"])
    db_util.create_scheduled_trigger(
        "scheduled", "P", "*/5 * * * *", FUTURE, "p.py", "", True, True, 2, [], "main"
    )
    db_util.create_queue_trigger("queue", "P", "q", "p.py", None, False, False, 3, 0, None)
    db_util.create_log("P", LogLevel.INFO, str(uuid.uuid4()), "logged")
    job = db_util.start_job("P", "M1")
    db_util.set_job_status(job.id, JobStatus.FAILED)
    element = db_util.create_queue_element("q", "ref", '{"json": 1}', "writer")
    db_util.set_queue_element_status(element.id, QueueStatus.DONE, "done")
    db_util.bulk_create_queue_elements("q", ["b1", "b2"], ["1", None], "bulk")
    db_util.send_ping_from_scheduler("M1")
    db_util.start_trigger_from_machine("M1", "single")
    print(json.dumps({"written": True}))


def read(url: str, key: str) -> None:
    assert db_util.connect(url)
    crypto_util.set_key(key)
    by_name = lambda t: t.trigger_name  # noqa: E731
    step("constants", db_util.get_constants)
    step("credential", lambda: db_util.get_credential("credential"))
    step("credentials encrypted", db_util.get_credentials)
    step("triggers", db_util.get_all_triggers, sort_key=by_name)
    step(
        "whitelists",
        lambda: sorted((t.trigger_name, t.scheduler_whitelist) for t in db_util.get_all_triggers()),
    )
    step("logs", lambda: db_util.get_logs(0, 100))
    step("jobs", db_util.get_jobs)
    step("elements", lambda: db_util.get_queue_elements("q"), sort_key=lambda e: e.reference)
    step("queue count", db_util.get_queue_count)
    step("schedulers", db_util.get_schedulers)
    step(
        "rows",
        lambda: sorted(
            json.dumps(N(r), sort_keys=True)
            for r in [
                *rows(db_util.get_all_triggers()),
                *rows(db_util.get_constants()),
                *rows(db_util.get_credentials()),
                *rows(db_util.get_jobs()),
                *rows(db_util.get_logs(0, 100)),
                *rows(db_util.get_queue_elements("q")),
                *rows(db_util.get_schedulers()),
            ]
        ),
    )
    print(json.dumps(results))


# --- the original Scheduler's cycle ---------------------------------------------------------


def cycle(url: str, key: str) -> None:
    """What the original Scheduler's runner does per poll (poll_triggers, run_trigger,
    run_process, then the job ending), with its own db_util calls."""
    assert db_util.connect(url)
    crypto_util.set_key(key)
    step("check_database_revision", db_util.check_database_revision)
    db_util.create_single_trigger("due", "P", PAST, "p.py", "", False, False, 1, ["M1"])
    db_util.create_queue_trigger("queued", "P", "cq", "p.py", "", False, False, 1, 0)
    db_util.create_queue_element("cq", "r")
    db_util.send_ping_from_scheduler("M1")
    trigger_list = (
        db_util.get_pending_single_triggers()
        + db_util.get_pending_scheduled_triggers()
        + db_util.get_pending_queue_triggers()
    )
    order = {SingleTrigger: 0, ScheduledTrigger: 1, QueueTrigger: 2}
    trigger_list.sort(key=lambda t: (-t.priority, order[type(t)]))
    step(
        "pending, sorted as the original Scheduler sorts",
        lambda: [t.trigger_name for t in trigger_list],
    )
    step(
        "whitelisted",
        lambda: [
            bool(t.scheduler_whitelist and "M1" in t.scheduler_whitelist) for t in trigger_list
        ],
    )
    ran = []
    for trigger in trigger_list:
        begin = {
            SingleTrigger: db_util.begin_single_trigger,
            QueueTrigger: db_util.begin_queue_trigger,
        }[type(trigger)]
        if begin(trigger.id):
            db_util.start_trigger_from_machine("M1", trigger.trigger_name)
            job = db_util.start_job(trigger.process_name, "M1")
            ran.append((trigger, job))
    step("began", lambda: [t.trigger_name for t, _job in ran])
    for trigger, job in ran:
        db_util.set_job_status(job.id, JobStatus.DONE)
        status = TriggerStatus.DONE if isinstance(trigger, SingleTrigger) else TriggerStatus.IDLE
        db_util.set_trigger_status(trigger.id, status)
    step(
        "triggers after",
        lambda: sorted((t.trigger_name, t.process_status.name) for t in db_util.get_all_triggers()),
    )
    step("jobs after", lambda: sorted(j.status.name for j in db_util.get_jobs()))
    print(json.dumps(results))


def create(url: str, _key: str) -> None:
    """The tables as the original's own `alembic upgrade head` leaves them."""
    fresh(url)
    with engine().begin() as connection:
        connection.execute(
            text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        )
        connection.execute(text("INSERT INTO alembic_version VALUES ('1c87ed320c78')"))
    step("check_database_revision", db_util.check_database_revision)
    print(json.dumps(results))


if __name__ == "__main__":
    mode, database_url, crypto_key = sys.argv[1:4]
    {"calls": calls, "write": write, "read": read, "cycle": cycle, "create": create}[mode](
        database_url, crypto_key
    )

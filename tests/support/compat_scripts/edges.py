"""The edges issue 24 names, through whichever `OpenOrchestrator` package is importable;
prints one JSON line of [step, result] pairs, as scenario.py does.

    python edges.py URL KEY

Starts from an empty database. Where the programs deliberately differ (a row of
docs/migrating.md, listed in tests/compat's allow-list), the step is followed by a
reset done the same way in both, so later steps start from the same rows.
"""

import contextlib
import json
import sys
import uuid
from typing import Any

from scenario import FUTURE, PAST, fresh, results, step

from OpenOrchestrator.common import crypto_util
from OpenOrchestrator.database import db_util
from OpenOrchestrator.database.jobs import JobStatus
from OpenOrchestrator.database.logs import LogLevel
from OpenOrchestrator.database.queues import QueueStatus
from OpenOrchestrator.database.triggers import SingleTrigger, TriggerStatus
from OpenOrchestrator.orchestrator_connection.connection import OrchestratorConnection


def _trigger_names() -> list[str]:
    return sorted(t.trigger_name for t in db_util.get_all_triggers())


def _delete_triggers_named(name: str) -> None:
    for trigger in db_util.get_all_triggers():
        if trigger.trigger_name == name:
            db_util.delete_trigger(trigger.id)


def _delete_queue(queue: str) -> None:
    for element in db_util.get_queue_elements(queue, limit=None):
        db_util.delete_queue_element(element.id)


def triggers() -> None:
    """Item 1 (a status saved with update_trigger) and item 3 (numbers)."""
    tid = db_util.create_queue_trigger("edge queue", "P", "eq", "p.py", "", False, False, 1, 0)

    def save(status: Any = None, **fields: Any) -> Any:
        trigger = db_util.get_trigger(tid)
        if status is not None:
            trigger.process_status = status
        for name, value in fields.items():
            setattr(trigger, name, value)
        db_util.update_trigger(trigger)
        stored = db_util.get_trigger(tid)
        return (
            trigger.process_status,
            stored.process_status,
            stored.last_run,
            stored.priority,
            stored.trigger_name,
        )

    step("update_trigger PAUSED", lambda: save(TriggerStatus.PAUSED))
    step("update_trigger IDLE", lambda: save(TriggerStatus.IDLE))
    step(
        "update_trigger FAILED to IDLE",
        lambda: (db_util.set_trigger_status(tid, TriggerStatus.FAILED), save(TriggerStatus.IDLE)),
    )
    step(
        "update_trigger KILLING",
        lambda: (
            db_util.set_trigger_status(tid, TriggerStatus.RUNNING),
            save(TriggerStatus.KILLING),
        ),
    )
    db_util.set_trigger_status(tid, TriggerStatus.IDLE)
    step("update_trigger last_run", lambda: save(last_run=PAST))
    step("update_trigger last_run None", lambda: save(last_run=None))
    step("update_trigger fields and status", lambda: save(TriggerStatus.PAUSED, priority=4))
    db_util.set_trigger_status(tid, TriggerStatus.RUNNING)
    step("update_trigger IDLE while running", lambda: save(TriggerStatus.IDLE))
    db_util.set_trigger_status(tid, TriggerStatus.RUNNING)
    step("update_trigger PAUSED while running", lambda: save(TriggerStatus.PAUSED))
    db_util.set_trigger_status(tid, TriggerStatus.IDLE)
    step("update_trigger DONE", lambda: save(TriggerStatus.DONE))
    db_util.set_trigger_status(tid, TriggerStatus.IDLE)

    def stale() -> Any:
        read_before = db_util.get_trigger(tid)
        db_util.begin_queue_trigger(tid)
        read_before.trigger_name = "renamed"
        db_util.update_trigger(read_before)
        return db_util.get_trigger(tid).process_status, db_util.get_trigger(tid).trigger_name

    step("update_trigger of an object read before the run began", stale)
    db_util.set_trigger_status(tid, TriggerStatus.IDLE)

    def new_object() -> Any:
        db_util.update_trigger(
            SingleTrigger(
                trigger_name="new object",
                process_name="P",
                process_path="p",
                process_args="",
                is_git_repo=False,
                is_blocking=False,
                next_run=FUTURE,
                priority=0,
            )
        )
        return _trigger_names()

    step("update_trigger of a new object", new_object)
    _delete_triggers_named("new object")

    # Numbers (item 3): NiceGUI, JSON and pandas give floats and strings.
    for given in ("5", None, 7.0, True, -2):

        def create(given: Any = given) -> Any:
            made = db_util.create_single_trigger(
                "numbers", "P", FUTURE, "p", "", False, False, given
            )
            return db_util.get_trigger(made).priority

        step(f"create_single_trigger priority {given!r}", create)
        _delete_triggers_named("numbers")
    step(
        "create_scheduled_trigger priority '3'",
        lambda: (
            db_util.get_trigger(
                db_util.create_scheduled_trigger(
                    "numbers", "P", "0 0 * * *", FUTURE, "p", "", False, False, "3"
                )
            ).priority
        ),
    )
    _delete_triggers_named("numbers")
    step(
        "create_queue_trigger min_batch_size 5.0 priority 2.0",
        lambda: (lambda t: (t.min_batch_size, t.priority))(
            db_util.get_trigger(
                db_util.create_queue_trigger("numbers", "P", "q", "p", "", False, False, 5.0, 2.0)
            )
        ),
    )
    _delete_triggers_named("numbers")
    step(
        "create_single_trigger priority 1.5",
        lambda: db_util.create_single_trigger("numbers", "P", FUTURE, "p", "", False, False, 1.5),
    )
    _delete_triggers_named("numbers")
    step(
        "create_queue_trigger min_batch_size 0",
        lambda: db_util.create_queue_trigger("numbers", "P", "q", "p", "", False, False, 0, 0),
    )
    _delete_triggers_named("numbers")
    step(
        "create_single_trigger next_run as text",
        lambda: db_util.create_single_trigger(
            "numbers", "P", "2020-01-02 03:04:05", "p", "", False, False, 0
        ),
    )
    _delete_triggers_named("numbers")

    # What openorch rewrites (stored values).
    def stored(**given: Any) -> Any:
        made = db_util.create_scheduled_trigger(
            "rewrites", "P", "0 0 * * *", FUTURE, "p", "", False, False, 0, **given
        )
        trigger = db_util.get_trigger(made)
        return trigger.git_branch, trigger.scheduler_whitelist

    for name, given in [
        ("git_branch ''", {"git_branch": ""}),
        ("git_branch blanks", {"git_branch": "  "}),
        ("whitelist as a string", {"scheduler_whitelist": "M1"}),
        ("whitelist with duplicates and blanks", {"scheduler_whitelist": ["M1", "M1", " "]}),
        ("whitelist with a number", {"scheduler_whitelist": ["M1", 7]}),
        ("git_branch and whitelist as given", {"scheduler_whitelist": ["M1"], "git_branch": "b"}),
    ]:
        step(f"create_scheduled_trigger {name}", lambda given=given: stored(**given))
        _delete_triggers_named("rewrites")

    # Representations (log lines and text matching see them).
    step(
        "trigger repr and str",
        lambda: (repr(db_util.get_trigger(tid)), str(db_util.get_trigger(tid))),
    )
    step("get_all_triggers", lambda: _trigger_names())
    for name in ("zz last by name", "aa first by name"):
        db_util.create_single_trigger(name, "P", FUTURE, "p", "", False, False, 0)
    step(
        "get_all_triggers order",
        lambda: [t.trigger_name for t in db_util.get_all_triggers() if "by name" in t.trigger_name],
    )
    _delete_triggers_named("zz last by name")
    _delete_triggers_named("aa first by name")


def values_and_queues() -> None:
    step("create_constant None", lambda: db_util.create_constant("none", None))
    step("constant None after", lambda: db_util.get_constant("none").value)
    with contextlib.suppress(Exception):  # the original refused it: nothing to delete
        db_util.delete_constant("none")

    for reference, data, message in [
        ("a_1", "100%", None),
        ("ab1", "100 percent", None),
        (None, None, None),
        ("b", "z", None),
        ("a", "y", None),
    ]:
        element = db_util.create_queue_element("edges", reference, data)
        if message:
            db_util.set_queue_element_status(element.id, QueueStatus.NEW, message)
    refs = lambda found: [e.reference for e in found]  # noqa: E731
    step(
        "db_util.get_queue_elements oldest first", lambda: refs(db_util.get_queue_elements("edges"))
    )
    step(
        "get_queue_elements order_by created_date desc",
        lambda: refs(db_util.get_queue_elements("edges", order_by="created_date", order_desc=True)),
    )
    step(
        "get_queue_elements order_by Reference",
        lambda: refs(db_util.get_queue_elements("edges", order_by="Reference")),
    )
    step(
        "get_queue_elements search_term %",
        lambda: refs(db_util.get_queue_elements("edges", search_term="%")),
    )
    step(
        "get_queue_elements search_term _",
        lambda: refs(db_util.get_queue_elements("edges", search_term="a_")),
    )
    step(
        "get_queue_elements search_term ''",
        lambda: refs(db_util.get_queue_elements("edges", search_term="")),
    )
    step(
        "get_queue_elements search_term plain",
        lambda: refs(db_util.get_queue_elements("edges", search_term="percent")),
    )
    step(
        "get_queue_elements status as a value string",
        lambda: refs(db_util.get_queue_elements("edges", status="New")),
    )
    step(
        "get_queue_elements status as a member",
        lambda: refs(db_util.get_queue_elements("edges", status=QueueStatus.NEW)),
    )
    step(
        "bulk_create_queue_elements strings as sequences",
        lambda: db_util.bulk_create_queue_elements("strings", "ab", "cd"),
    )
    _delete_queue("strings")
    step("get_next_queue_element None", lambda: db_util.get_next_queue_element(None))

    for level, text in ((LogLevel.INFO, "b second"), (LogLevel.ERROR, "a first")):
        db_util.create_log("Edges", level, None, text)
    messages = lambda found: [log.log_message for log in found]  # noqa: E731
    step("get_logs by time", lambda: messages(db_util.get_logs(0, 10, process_name="Edges")))
    step(
        "get_logs order_by message",
        lambda: messages(db_util.get_logs(0, 10, process_name="Edges", order_by="message")),
    )
    step(
        "get_logs order_by log_message",
        lambda: messages(db_util.get_logs(0, 10, process_name="Edges", order_by="log_message")),
    )
    step("get_logs limit -1", lambda: messages(db_util.get_logs(0, -1, process_name="Edges")))
    step("get_logs offset -1", lambda: messages(db_util.get_logs(-1, 10, process_name="Edges")))
    step(
        "get_logs log_level as a value string",
        lambda: messages(db_util.get_logs(0, 10, log_level="Error")),
    )
    step(
        "create_log NUL",
        lambda: messages(
            (
                db_util.create_log("NUL", LogLevel.INFO, None, "a\x00b"),
                db_util.get_logs(0, 10, process_name="NUL"),
            )[1]
        ),
    )

    job = db_util.start_job("Edges", "M1")
    step("get_jobs status as a value string", lambda: len(db_util.get_jobs(status="Running")))
    db_util.set_job_status(job.id, JobStatus.DONE)
    step("start_trigger_from_machine None", lambda: db_util.start_trigger_from_machine("M9", None))
    step(
        "scheduler after start_trigger_from_machine None",
        lambda: [s.latest_trigger for s in db_util.get_schedulers() if s.machine_name == "M9"],
    )


def connections(url: str, key: str) -> None:
    """Item 2 (any key until it is used) and the other OrchestratorConnection edges."""
    job_id = str(uuid.uuid4())
    db_util.create_constant("edge", "value")
    db_util.create_credential("edge", "user", "password")

    def with_key(crypto_key: str) -> Any:
        oc = OrchestratorConnection("Edge process", url, crypto_key, "", "", job_id)
        oc.log_info("a dummy key")
        return oc

    for name, crypto_key in (("bad key", "bad key"), ("empty key", "")):
        step(
            f"oc {name}: constructed, logs, reads a constant",
            lambda k=crypto_key: with_key(k).get_constant("edge").value,
        )
        step(f"oc {name}: get_credential", lambda k=crypto_key: with_key(k).get_credential("edge"))
        step(
            f"oc {name}: update_credential",
            lambda k=crypto_key: with_key(k).update_credential("edge", "u", "p"),
        )

    def from_args(*argv: str) -> Any:
        saved = sys.argv
        sys.argv = ["script.py", *argv]
        try:
            made = OrchestratorConnection.create_connection_from_args()
            return made.get_constant("edge").value
        finally:
            sys.argv = saved

    step(
        "create_connection_from_args bad key",
        lambda: from_args("E", url, "bad key", "", "", job_id),
    )
    step("create_connection_from_args 3 items", lambda: from_args("E", url, "bad key"))
    step("create_connection_from_args no items", lambda: from_args())
    oc = OrchestratorConnection("Edge process", url, key, "", "", job_id)
    step("oc repr and str", lambda: (repr(oc), str(oc)))
    step(
        "oc ids that are not UUIDs, reading a constant",
        lambda: OrchestratorConnection("E", url, key, "", "123", "x").get_constant("edge").value,
    )
    step(
        "oc malformed connection string, first use",
        lambda: OrchestratorConnection("E", "no url at all", key, "", "", "").get_constant("edge"),
    )
    assert db_util.connect(url)
    step(
        "oc missing SQLite folder, first use",
        lambda: OrchestratorConnection(
            "E", "sqlite:////no/such/folder/x.db", key, "", "", ""
        ).get_constant("edge"),
    )
    assert db_util.connect(url)
    crypto_util.set_key(key)


def main(url: str, key: str) -> None:
    fresh(url)
    crypto_util.set_key(key)
    triggers()
    values_and_queues()
    connections(url, key)
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

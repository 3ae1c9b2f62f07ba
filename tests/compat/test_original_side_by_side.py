"""The same scripted calls through the real OpenOrchestrator 3.0.0 and through openorch's
`OpenOrchestrator` package, on SQLite and PostgreSQL, compared value for value; data
written by each read back by the other; one cycle of the original Scheduler's own calls
on a database `openorch upgrade` brought to head.

The scripts are in tests/support/compat_scripts (scenario.py: the calls; edges.py: the
edges of issue 24; normalise.py: how results become comparable JSON). The only
differences allowed are `DELIBERATE`'s and `DELIBERATE_EDGES`'s, each a row of
docs/migrating.md.
"""

from pathlib import Path
from typing import Any

import pytest

from openorch.crypto import generate_key
from openorch.store import HEAD_REVISION, Store
from openorch.upgrade import run_upgrade
from support.databases import migrated
from support.original import OriginalVenv, run_openorch, run_original

MIGRATING = Path(__file__).resolve().parents[2] / "docs" / "migrating.md"

#: The allow-list: step -> the docs/migrating.md row (its anchor text) that explains the
#: difference. A difference not listed here fails the comparison; a row listed here must
#: be in docs/migrating.md, and (for the edges) must really differ.
DELIBERATE = {
    # --- scenario.py calls ---
    "check_database_revision (no version table)": "without a version table",
    "create_scheduled_trigger bad cron": "unparsable cron expression",
    "create_constant too long": "over-long text",
    "create_queue_element NUL": "NUL character",
    "bulk_create_queue_elements (the docs' example)": "returns what it created",
    "oc bulk_create_queue_elements": "returns what it created",
    # PostgreSQL only: the original's tables made by create_all have native ENUM types.
    "get_logs order_by level": "sorting by level",
    "get_logs order_by Level": "sorting by level",
}

#: The allow-list for edges.py (issue 24), mirroring docs/migrating.md's table row by row.
DELIBERATE_EDGES = {
    # The state machine: Enable is refused while the process runs, Disable of a running
    # trigger is PAUSING until the run ends, a run's statuses are not saved by hand.
    "update_trigger IDLE while running": "a status saved with `update_trigger`",
    "update_trigger PAUSED while running": "a status saved with `update_trigger`",
    "update_trigger DONE": "a status saved with `update_trigger`",
    # The original inserts it; openorch says to call create_*_trigger.
    "update_trigger of a new object": "`update_trigger` of an object never created",
    # Stored as 1.5 on SQLite and 2 on PostgreSQL by the original: refused.
    "create_single_trigger priority 1.5": "a number that is not whole",
    "create_queue_trigger min_batch_size 0": "`min_batch_size` below 1",
    # Stored by the original on PostgreSQL, a driver error on SQLite: refused on both.
    "create_single_trigger next_run as text": "a moment given as text",
    # Stored as NULL, "no branch", one spelling for every reader.
    "create_scheduled_trigger git_branch ''": "a blank `git_branch`",
    "create_scheduled_trigger git_branch blanks": "a blank `git_branch`",
    # Stored as the JSON list of stripped, distinct names.
    "create_scheduled_trigger whitelist as a string": "a whitelist given as a string",
    "create_scheduled_trigger whitelist with duplicates and blanks": "a whitelist given as a "
    "string",
    "create_scheduled_trigger whitelist with a number": "a whitelist given as a string",
    # The original raised IntegrityError (NOT NULL); openorch stores "".
    "create_constant None": "`create_constant(name, None)`",
    "constant None after": "`create_constant(name, None)`",
    # Keys naming a column sort by it (the original sorted by time).
    "get_queue_elements order_by Reference": "a sort key the original ignored",
    "get_logs order_by log_message": "a sort key the original ignored",
    # % and _ match themselves; "" is no filter.
    "get_queue_elements search_term %": "`search_term`",
    "get_queue_elements search_term _": "`search_term`",
    "get_queue_elements search_term ''": "`search_term`",
    # SQLite: the original matched nothing; PostgreSQL: a driver error.
    "get_queue_elements status as a value string": "a status or level as its value text",
    "get_logs log_level as a value string": "a status or level as its value text",
    "get_jobs status as a value string": "a status or level as its value text",
    "bulk_create_queue_elements strings as sequences": "strings as `references` and `data`",
    "get_logs limit -1": "negative paging",
    "get_logs offset -1": "negative paging",
    # SQLite stored the NUL, PostgreSQL refused the row: openorch writes U+FFFD.
    "create_log NUL": "a log message with a NUL character",
    # The original has no order (insertion order here); openorch sorts by name.
    "get_all_triggers order": "`db_util.get_all_triggers()`",
    # The original failed at the first log or trigger call; openorch in the constructor.
    "oc ids that are not UUIDs, reading a constant": "with a trigger or job id that is not a UUID",
}


def same(original: Any, ours: Any) -> bool:
    """Equal, or both raised and openorch's error is every class the original's was (so
    the original's `except` clauses still catch it)."""
    if original == ours:
        return True
    if isinstance(original, dict) and isinstance(ours, dict) and "raised" in original:
        return "raised" in ours and set(original["raised"]) <= set(ours["raised"])
    return False


def compare(
    original: list[list[Any]], ours: list[list[Any]], allowed: dict[str, str] = DELIBERATE
) -> list[str]:
    assert [name for name, _ in original] == [name for name, _ in ours]
    return [
        f"{name}:\n  original: {theirs}\n  openorch: {mine}"
        for (name, theirs), (_, mine) in zip(original, ours, strict=True)
        if name not in allowed and not same(theirs, mine)
    ]


@pytest.fixture(scope="module")
def key() -> str:
    return generate_key().decode()


def test_every_deliberate_difference_is_documented() -> None:
    text = MIGRATING.read_text(encoding="utf-8")
    allowed = {**DELIBERATE, **DELIBERATE_EDGES}.values()
    missing = sorted({row for row in allowed if row not in text})
    assert not missing, f"docs/migrating.md lacks rows for: {missing}"


def test_the_edges_give_the_same_results(original: OriginalVenv, empty_url: str, key: str) -> None:
    """Issue 24's edges: a status saved with update_trigger, any key until it is used,
    numbers as the original takes them, the original's repr, error classes, and every
    smaller difference, which must be on `DELIBERATE_EDGES` (and so in migrating.md)."""
    theirs = run_original(original, "edges.py", empty_url, key)
    ours = run_openorch("edges.py", empty_url, key)
    differences = compare(theirs, ours, DELIBERATE_EDGES)
    assert not differences, "\n".join(differences)
    # Every allowed difference is one (else it has gone: drop it from the list and docs).
    results = dict(ours)
    assert set(DELIBERATE_EDGES) <= set(results)
    gone = [name for name in DELIBERATE_EDGES if same(dict(theirs)[name], results[name])]
    assert not gone, f"no longer different, drop from the allow-list: {gone}"
    # Item 2: a dummy key is taken; the original's error classes when it is used.
    assert results["oc bad key: constructed, logs, reads a constant"] == "value"
    assert results["oc empty key: get_credential"] == {"raised": ["RuntimeError", "ValueError"]}
    assert results["oc repr and str"] == [
        "tuple",
        "OrchestratorConnection - Process name: Edge process",
        "OrchestratorConnection - Process name: Edge process",
    ]
    # Item 1: saved statuses applied.
    assert results["update_trigger PAUSED"][1:3] == ["TriggerStatus.PAUSED"] * 2


def test_the_same_calls_give_the_same_results(
    original: OriginalVenv, empty_url: str, key: str
) -> None:
    theirs = run_original(original, "scenario.py", "calls", empty_url, key)
    ours = run_openorch("scenario.py", "calls", empty_url, key)
    assert len(theirs) > 150
    differences = compare(theirs, ours)
    assert not differences, "\n".join(differences)
    # The deliberate differences really are differences (else drop them from the list).
    results = dict(ours)
    refused = [name for name in DELIBERATE if name.startswith("create")]
    assert all("ValueError" in results[name]["raised"] for name in refused)
    assert results["check_database_revision (no version table)"] is False


def test_what_the_original_writes_openorch_reads_after_upgrade(
    original: OriginalVenv, empty_url: str, key: str
) -> None:
    """The original makes the database (as its alembic leaves it) and `openorch upgrade`
    brings it to head: the original still accepts its revision, and what it then writes
    reads back the same through both."""
    made = run_original(original, "scenario.py", "create", empty_url, key)
    assert made == [["check_database_revision", True]]
    assert run_upgrade(empty_url, yes=True) == 0
    store = Store(empty_url)
    assert store.revisions().original == "1c87ed320c78"
    assert store.revisions().openorch == HEAD_REVISION
    store.close()
    run_original(original, "scenario.py", "write", empty_url, key)
    theirs = run_original(original, "scenario.py", "read", empty_url, key)
    ours = run_openorch("scenario.py", "read", empty_url, key)
    assert compare(theirs, ours) == []
    whitelists = dict(ours)["whitelists"]
    assert whitelists == [
        "list",
        ["tuple", "queue", None],
        ["tuple", "scheduled", ["list"]],
        ["tuple", "single", ["list", "M1"]],
    ]


def test_what_openorch_writes_the_original_reads(
    original: OriginalVenv, empty_url: str, key: str
) -> None:
    migrated(empty_url)
    run_openorch("scenario.py", "write", empty_url, key)
    theirs = run_original(original, "scenario.py", "read", empty_url, key)
    ours = run_openorch("scenario.py", "read", empty_url, key)
    assert compare(theirs, ours) == []
    assert dict(theirs)["whitelists"][3] == ["tuple", "single", ["list", "M1"]]


def test_the_original_schedulers_cycle_on_an_upgraded_database(
    original: OriginalVenv, empty_url: str, key: str
) -> None:
    assert run_upgrade(empty_url, new=True) == 0
    cycle = dict(run_original(original, "scenario.py", "cycle", empty_url, key))
    assert cycle["check_database_revision"] is True
    assert cycle["pending, sorted as the original Scheduler sorts"] == ["list", "due", "queued"]
    assert cycle["began"] == ["list", "due", "queued"]
    assert cycle["triggers after"] == [
        "list",
        ["tuple", "due", "DONE"],
        ["tuple", "queued", "IDLE"],
    ]
    assert cycle["jobs after"] == ["list", "DONE", "DONE"]
    # openorch reads what the original Scheduler wrote.
    store = Store(empty_url)
    assert sorted(t.process_status.name for t in store.get_all_triggers()) == ["DONE", "IDLE"]
    assert {job.status.name for job in store.get_jobs()} == {"DONE"}
    store.close()

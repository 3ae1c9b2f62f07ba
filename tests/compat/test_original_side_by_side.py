"""The same scripted calls through the real OpenOrchestrator 3.0.0 and through openorch's
`OpenOrchestrator` package, on SQLite and PostgreSQL, compared value for value; data
written by each read back by the other; one cycle of the original Scheduler's own calls
on a database `openorch upgrade` brought to head.

The scripts are in tests/support/compat_scripts (scenario.py: the calls; normalise.py:
how results become comparable JSON). The only differences allowed are `DELIBERATE`'s,
each a row of docs/migrating.md.
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

#: Step -> the docs/migrating.md row (its anchor text) that explains the difference.
DELIBERATE = {
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


def same(original: Any, ours: Any) -> bool:
    """Equal, or both raised and openorch's error is every class the original's was (so
    the original's `except` clauses still catch it)."""
    if original == ours:
        return True
    if isinstance(original, dict) and isinstance(ours, dict) and "raised" in original:
        return "raised" in ours and set(original["raised"]) <= set(ours["raised"])
    return False


def compare(original: list[list[Any]], ours: list[list[Any]]) -> list[str]:
    assert [name for name, _ in original] == [name for name, _ in ours]
    return [
        f"{name}:\n  original: {theirs}\n  openorch: {mine}"
        for (name, theirs), (_, mine) in zip(original, ours, strict=True)
        if name not in DELIBERATE and not same(theirs, mine)
    ]


@pytest.fixture(scope="module")
def key() -> str:
    return generate_key().decode()


def test_every_deliberate_difference_is_documented() -> None:
    text = MIGRATING.read_text(encoding="utf-8")
    missing = [row for row in DELIBERATE.values() if row not in text]
    assert not missing, f"docs/migrating.md lacks rows for: {missing}"


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

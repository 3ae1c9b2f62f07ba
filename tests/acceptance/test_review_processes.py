"""Business vs application failures with real processes (SQLite and PostgreSQL): a
pipeline whose step raises BusinessError on some elements and ConnectionError on others,
and asks a person on a third. Business ones go to review untried again; application ones
are retried up to max_attempts, then (per the queue's setting) to review; decisions
(retry with edited data, continue with form values, abandon) are picked up by the next
process, which resumes at the right step with the state kept."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from openorch.database import QueueStatus
from openorch.store import ReviewFilter, Store

SCRIPT = Path(__file__).resolve().parents[1] / "support" / "sdk_scripts" / "review_pipeline.py"


def _run(store: Store, url: str, key: str, args: dict[str, Any]) -> None:
    job = store.start_job("review-demo", "test-machine").id
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "review-demo", url, key, json.dumps(args), "", str(job)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def _journal(path: Path) -> list[tuple[str, str]]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(line["reference"], line["step"]) for line in lines]


def test_business_and_application_failures_with_real_processes(
    db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    store = Store(db_url, crypto_key=crypto_key)
    store.set_queue_settings("q", max_attempts=2, review_exhausted=True)
    ids = {
        reference: store.create_queue_element("q", reference, "{}").id
        for reference in ("biz1", "app1", "ask1")
    }
    journal = tmp_path / "journal.jsonl"
    args = {"queue": "q", "journal": str(journal)}
    _run(store, db_url, crypto_key, args)

    checks = [reference for reference, step in _journal(journal) if step == "check"]
    assert sorted(checks) == ["app1", "app1", "ask1", "biz1"]  # business: never again
    items = {entry.element.reference: entry for entry in store.list_review_items()}
    assert {name: entry.item.kind for name, entry in items.items()} == {
        "biz1": "business",
        "app1": "application",
        "ask1": "decision",
    }
    assert all(store.get_queue_element(key).status is QueueStatus.FAILED for key in ids.values())
    assert store.get_queue_element(ids["app1"]).attempts == 2

    store.decide_review_item(
        items["biz1"].item.id, "retry", "customer created", "ann", data="fixed"
    )
    store.decide_review_item(
        items["ask1"].item.id, "continue", None, "ann", form_values={"amount": "42"}
    )
    store.decide_review_item(items["app1"].item.id, "abandon", "portal retired", "ann")
    journal.unlink()
    _run(store, db_url, crypto_key, args)

    # The retried business element resumes at "check" (fetch's state kept); the
    # question resumes at "finish" with the form; the abandoned one is not run.
    assert _journal(journal) == [
        ("biz1", "check"),
        ("biz1", "finish"),
        ("ask1", "finish"),
    ]
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert lines[0]["state"] == {"fetched": True}
    assert lines[2]["state"]["review"]["values"] == {"amount": "42"}
    assert store.get_queue_element(ids["biz1"]).status is QueueStatus.DONE
    assert store.get_queue_element(ids["ask1"]).status is QueueStatus.DONE
    assert store.get_queue_element(ids["app1"]).status is QueueStatus.ABANDONED
    assert store.count_review_items() == 0
    assert store.count_review_items(ReviewFilter(state="decided")) == 3
    history = [entry.event for entry in store.get_element_history(ids["biz1"])]
    assert history == [
        "created",
        "claimed",
        "failed",
        "review",
        "edited",
        "decided",
        "claimed",
        "done",
    ], history
    store.close()

"""The queue element status rule (store/queues/status.py): the table says what each event
does, and no other store module writes a status of its own."""

import ast
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.dialects import sqlite

from openorch.database import QueueElement, QueueStatus
from openorch.store import errors
from openorch.store.queues.admin import BULK_ACTION_STATUSES
from openorch.store.queues.status import (
    QUEUE_TRANSITIONS,
    QueueEvent,
    apply,
    source_condition,
    sources_of,
    target_of,
    transition_values,
)

STORE = Path(__file__).resolve().parents[2] / "src" / "openorch" / "store"
Q = QueueStatus
NOW = datetime(2026, 1, 2, 3, 4, 5)


def test_the_table_reads_as_documented() -> None:
    assert target_of(QueueEvent.CLAIM) is Q.IN_PROGRESS
    assert sources_of(QueueEvent.CLAIM) == (Q.NEW,)
    assert sources_of(QueueEvent.ADMIN_RETRY) == (Q.IN_PROGRESS, Q.FAILED, Q.ABANDONED)
    assert sources_of(QueueEvent.ADMIN_ABANDON) == (Q.NEW, Q.IN_PROGRESS)
    for event in (QueueEvent.COMPLETE, QueueEvent.FAIL, QueueEvent.RETRY, QueueEvent.WAIT):
        assert sources_of(event) == (Q.IN_PROGRESS,), event
    assert QUEUE_TRANSITIONS[QueueEvent.CREATE].sources == frozenset()


def test_the_bulk_actions_take_their_statuses_from_the_table() -> None:
    assert BULK_ACTION_STATUSES["retry"] == sources_of(QueueEvent.ADMIN_RETRY)
    assert BULK_ACTION_STATUSES["abandon"] == sources_of(QueueEvent.ADMIN_ABANDON)


@pytest.mark.parametrize(
    ("event", "target", "expected"),
    [
        (QueueEvent.CLAIM, None, {"status": Q.IN_PROGRESS, "start_date": NOW}),
        (QueueEvent.COMPLETE, None, {"status": Q.DONE, "end_date": NOW}),
        (QueueEvent.RETRY, None, {"status": Q.NEW, "end_date": None}),
        (QueueEvent.WAIT, None, {"status": Q.NEW}),
        (QueueEvent.ABANDON, None, {"status": Q.ABANDONED, "end_date": NOW}),
        # The original's set_queue_element_status: any status, its dates.
        (QueueEvent.SET, Q.IN_PROGRESS, {"status": Q.IN_PROGRESS, "start_date": NOW}),
        (QueueEvent.SET, Q.FAILED, {"status": Q.FAILED, "end_date": NOW}),
        (QueueEvent.SET, Q.NEW, {"status": Q.NEW}),
        (QueueEvent.EDIT, Q.DONE, {"status": Q.DONE}),
    ],
)
def test_each_event_writes_its_status_and_dates(
    event: QueueEvent, target: QueueStatus | None, expected: dict[str, object]
) -> None:
    assert transition_values(event, NOW, target) == expected


def test_a_target_is_named_only_where_the_event_has_none() -> None:
    with pytest.raises(errors.BadInput, match="needs a target"):
        transition_values(QueueEvent.SET, NOW)
    with pytest.raises(errors.BadInput, match="leads to DONE"):
        transition_values(QueueEvent.COMPLETE, NOW, Q.FAILED)


def test_the_condition_is_the_events_sources() -> None:
    claim = source_condition(QueueEvent.CLAIM)
    assert claim is not None
    sql = str(claim.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    assert sql == "\"Queues\".status = 'NEW'"  # an equality the claim's index serves
    assert source_condition(QueueEvent.SET) is None


def test_apply_refuses_what_the_table_does_not_allow() -> None:
    element = QueueElement(queue_name="q", status=Q.DONE)
    with pytest.raises(errors.BadInput, match="DONE: CLAIM applies to NEW only"):
        apply(element, QueueEvent.CLAIM, NOW)
    element.status = Q.NEW
    apply(element, QueueEvent.CLAIM, NOW)
    assert (element.status, element.start_date) == (Q.IN_PROGRESS, NOW)


def _status_writes(path: Path) -> list[str]:
    """Places that write a QueueStatus member as a status themselves: `status=Q.X`,
    `{"status": Q.X}`, `x.status = Q.X`, or the stored text of a status."""
    names = {status.name for status in QueueStatus}
    found = []

    def is_member(node: ast.AST | None) -> bool:
        return (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "QueueStatus"
        )

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.keyword) and node.arg == "status" and is_member(node.value):
            found.append(f"{path.name}:{node.value.lineno} status=")
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "status" and is_member(value):
                    found.append(f"{path.name}:{key.lineno} {{'status': ...}}")
        elif isinstance(node, ast.Assign) and is_member(node.value):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr == "status":
                    found.append(f"{path.name}:{node.lineno} .status =")
        elif isinstance(node, ast.Tuple):
            for item in node.elts:
                if isinstance(item, ast.Constant) and item.value in names:
                    found.append(f"{path.name}:{item.lineno} {item.value!r}")
    return found


@pytest.mark.parametrize(
    "path",
    sorted(
        path
        for path in STORE.rglob("*.py")
        if path.relative_to(STORE).as_posix() != "queues/status.py"
    ),
    ids=lambda path: path.relative_to(STORE).as_posix(),
)
def test_no_store_module_writes_a_queue_status_itself(path: Path) -> None:
    found = _status_writes(path)
    assert not found, "write queue statuses through store/queues/status.py: " + ", ".join(found)


def test_the_walk_sees_a_status_write(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "update(t).values(status=QueueStatus.DONE)\n"
        "rows = [{'status': QueueStatus.NEW}]\n"
        "element.status = QueueStatus.IN_PROGRESS\n"
        "row = (key, 'NEW', data)\n"
    )
    assert len(_status_writes(sample)) == 4

"""The suite's own scheduling (tests/support/xdist_groups.py): longest work first,
grouped modules kept whole, a missing or broken durations file harmless."""

from pathlib import Path

from support.xdist_groups import UNKNOWN_SECONDS, known_durations, longest_first


def _scope(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return path if path == "grouped.py" else nodeid


def test_the_longest_work_units_go_first_and_a_group_stays_together() -> None:
    collection = [
        "a.py::quick",
        "grouped.py::one",
        "b.py::drain",
        "grouped.py::two",
        "a.py::unknown",
        "a.py::medium",
    ]
    durations = {"b.py::drain": 120.0, "grouped.py::one": 20.0, "grouped.py::two": 25.0}
    durations["a.py::medium"] = 5.0
    durations["a.py::quick"] = 0.1
    assert longest_first(collection, _scope, durations) == [
        "b.py::drain",
        "grouped.py::one",  # 45 s together, in collection order
        "grouped.py::two",
        "a.py::medium",
        "a.py::unknown",  # UNKNOWN_SECONDS
        "a.py::quick",
    ]
    assert UNKNOWN_SECONDS > 0.1


def test_without_recorded_durations_the_collection_order_stays(tmp_path: Path) -> None:
    collection = ["x.py::a", "x.py::b", "grouped.py::c"]
    assert longest_first(collection, _scope, {}) == collection
    assert known_durations(tmp_path / "missing.json") == {}
    broken = tmp_path / "broken.json"
    broken.write_text("[not json", encoding="utf-8")
    assert known_durations(broken) == {}
    broken.write_text("[1, 2]", encoding="utf-8")
    assert known_durations(broken) == {}

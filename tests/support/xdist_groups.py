"""How the suite is handed out to pytest-xdist workers: costly modules whole on one
worker, and the longest tests first.

**Modules on one worker.** With `-n 4` xdist hands tests out one by one, so a
module-scoped fixture would be built on every worker that gets one of the module's tests
(the 200,000-row PostgreSQL of test_explain.py took 20 s, four times). `--dist loadgroup`
with `xdist_group` marks is xdist's own answer, but with pytest 9 it no longer groups (it
renames `item._nodeid`, which pytest 9 no longer reads), so this scheduler groups by
module path instead, through xdist's public `pytest_xdist_make_scheduler` hook.

**Longest first.** A run lasts at least as long as its longest test, and a long test
that starts last ends the run alone (a two-minute drain collected late once kept one
worker busy for two minutes after the other three had finished). So work is handed out
longest first (the classic LPT rule: it ends within a third of the optimum), by the
durations recorded in `test_durations.json` (`python -m pytest -n 4 --record-durations`
rewrites it; a test it does not know counts as `UNKNOWN_SECONDS`). A stale file makes
the order worse, never the results different.

Registered by tests/conftest.py only when xdist is loaded and distributing with the
default `--dist load`.
"""

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

#: Modules whose tests share one module-scoped fixture worth building once.
ONE_WORKER_MODULES = frozenset(
    {
        "tests/integration/test_explain.py",  # 200,000 rows per table in PostgreSQL
        "tests/acceptance/test_installed_wheel.py",  # a wheel built into a fresh venv
        "tests/acceptance/orchestrator/test_access.py",  # a running Orchestrator
        "tests/acceptance/test_api_security.py",  # a running API server
        "tests/acceptance/test_scheduler_window.py",  # an Xvfb display
    }
)

#: Recorded wall time of each test that took at least `RECORD_ABOVE` seconds.
DURATIONS_FILE = Path(__file__).with_name("test_durations.json")

#: What a test missing from the file is assumed to take (most tests take less).
UNKNOWN_SECONDS = 0.3

#: Shorter tests are not recorded: their order hardly matters, and the file stays small.
RECORD_ABOVE = 1.0


def known_durations(path: Path = DURATIONS_FILE) -> dict[str, float]:
    """The recorded durations; none (every test "unknown") if the file is missing or bad."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}


def longest_first(
    collection: Iterable[str], scope_of: Callable[[str], str], durations: dict[str, float]
) -> list[str]:
    """The collection reordered so that the scopes (work units) with the most recorded
    time come first; tests of one scope stay together and in collection order."""
    nodeids = list(collection)
    weight: dict[str, float] = {}
    first: dict[str, int] = {}
    for index, nodeid in enumerate(nodeids):
        scope = scope_of(nodeid)
        weight[scope] = weight.get(scope, 0.0) + durations.get(nodeid, UNKNOWN_SECONDS)
        first.setdefault(scope, index)
    position = {nodeid: index for index, nodeid in enumerate(nodeids)}
    return sorted(
        nodeids,
        key=lambda n: (-weight[scope_of(n)], first[scope_of(n)], position[n]),
    )


class ModuleGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """xdist's load scheduling, except that the modules above go to one worker whole
    and the longest work goes out first."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return path if path in ONE_WORKER_MODULES else nodeid

    def schedule(self) -> None:
        if (
            self.collection is None
            and self.registered_collections
            and self._check_nodes_have_same_collection()
        ):
            order = longest_first(
                next(iter(self.registered_collections.values())),
                self._split_scope,
                known_durations(),
            )
            for node in self.registered_collections:
                self.registered_collections[node] = order
            # xdist would otherwise re-sort the work units by how many tests each holds.
            self.config.option.loadscopereorder = False
        super().schedule()


def pytest_xdist_make_scheduler(config: Any, log: Any) -> Any:
    """Replace xdist's default `load` scheduler; any other `--dist` is left as asked."""
    if config.getvalue("dist") != "load":
        return None
    return ModuleGroupScheduling(config, log)


class DurationRecorder:
    """`--record-durations`: sums each test's setup, call and teardown as the controller
    receives them, and at the end rewrites `test_durations.json` (tests seen this run
    replace their old figure; tests not run keep theirs)."""

    def __init__(self, path: Path = DURATIONS_FILE) -> None:
        self.path = path
        self.seen: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seen[report.nodeid] = self.seen.get(report.nodeid, 0.0) + report.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(session.config, "workerinput"):
            return  # a worker: the controller has every report
        merged = known_durations(self.path)
        for nodeid, seconds in self.seen.items():
            merged.pop(nodeid, None)
            if seconds >= RECORD_ABOVE:
                merged[nodeid] = round(seconds, 1)
        ordered = dict(sorted(merged.items(), key=lambda item: (-item[1], item[0])))
        self.path.write_text(json.dumps(ordered, indent=0) + "\n", encoding="utf-8")

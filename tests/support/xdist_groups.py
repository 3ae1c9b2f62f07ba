"""Keep each test module with a costly module-wide fixture on one pytest-xdist worker.

With `-n 4` xdist hands tests out one by one, so a module-scoped fixture would be built
on every worker that gets one of the module's tests (the 200,000-row PostgreSQL of
test_explain.py took 20 s, four times). `--dist loadgroup` with `xdist_group` marks is
xdist's own answer, but with pytest 9 it no longer groups (it renames `item._nodeid`,
which pytest 9 no longer reads), so this scheduler groups by module path instead, through
xdist's public `pytest_xdist_make_scheduler` hook. Registered by tests/conftest.py only
when xdist is loaded and distributing with the default `--dist load`.
"""

from typing import Any

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


class ModuleGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """xdist's load scheduling, except that the modules above go to one worker whole."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return path if path in ONE_WORKER_MODULES else nodeid


def pytest_xdist_make_scheduler(config: Any, log: Any) -> Any:
    """Replace xdist's default `load` scheduler; any other `--dist` is left as asked."""
    if config.getvalue("dist") != "load":
        return None
    return ModuleGroupScheduling(config, log)

"""Importing the SDK is light: no NiceGUI, no Tk, no Alembic, and none of the data
layer's feature modules a robot never calls (alerts, the Overview, metrics, retention, API
tokens, run requests: store/features.py loads them on first use).

This test asserts what is imported, never how long it took: an absolute time limit
failed on slower or busier machines (issue 26). The time is measured by
`bench/sdk_import_bench.py` (wall time as a ratio to a bare interpreter and to
`import sqlalchemy.orm` in the same run, or instructions under callgrind), with its
figures in docs/benchmarks.md.
"""

import json
import subprocess
import sys

import pytest

#: Never loaded by importing the SDK (or the original's import paths).
FORBIDDEN = (
    "nicegui",
    "tkinter",
    "_tkinter",
    "fastapi",
    "uvicorn",
    "alembic",
    "cryptography",
    "openorch.store.migrate",
    "openorch.store.alerts",
    "openorch.store.alerts.deliveries",
    "openorch.store.alerts.config",
    "openorch.store.alerts.findings",
    "openorch.store.ops",
    "openorch.store.ops.overview",
    "openorch.store.ops.metrics",
    "openorch.store.ops.retention",
    "openorch.store.api_tokens",
    "openorch.store.audit",
    "openorch.store.runs.run_requests",
    "openorch.database.alerts",
    "openorch.database.api",
    "openorch.database.audit",
    "openorch.database.operations",
    "openorch.database.calendars",
    "openorch.store.runs.triggers",
    "openorch.store.runs.calendars",
    "openorch.store.runs.schedule",
    "openorch.store.runs.schedulers",
)

_PROBE = """
import json, sys
{statement}
print(json.dumps([m for m in {forbidden!r} if m in sys.modules]))
"""


def _loaded(statement: str) -> list[str]:
    code = _PROBE.format(statement=statement, forbidden=FORBIDDEN)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return list(json.loads(result.stdout))


@pytest.mark.parametrize(
    "statement",
    [
        "import openorch.sdk",
        "from openorch import OrchestratorConnection",
        "from OpenOrchestrator.orchestrator_connection.connection import OrchestratorConnection",
        "from OpenOrchestrator.database.queues import QueueStatus",
        "import OpenOrchestrator.database.db_util, OpenOrchestrator.common.crypto_util",
    ],
)
def test_sdk_import_loads_nothing_it_does_not_need(statement: str) -> None:
    assert _loaded(statement) == [], f"{statement!r} loads these"


def test_a_feature_is_loaded_when_first_used() -> None:
    """The lazily loaded mixins are there when asked for: on the class and an instance."""
    code = (
        "import sys; from openorch.store import Store; "
        "assert 'openorch.store.ops.overview' not in sys.modules; "
        "print(Store.get_overview.__qualname__, 'openorch.store.ops.overview' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["OverviewStore.get_overview", "True"]


def test_plain_import_does_not_load_the_database_layer() -> None:
    code = "import sys, openorch; print('sqlalchemy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"

"""Importing the SDK is light: no NiceGUI, no Tk, and fast enough for every process start.

Each import runs in a fresh interpreter and is timed there with `time.perf_counter`
around the import statement alone (interpreter start-up is not the SDK's cost). The
best of up to five runs is compared with the limit, so a busy machine does not fail it.

The limit is LIMIT_SECONDS, or FLOOR_RATIO times the floor measured the same way in the
same run (`import sqlalchemy, sqlalchemy.orm`: what any SDK on this schema must load),
whichever is larger: a slow or busy machine (CI runs the suite on parallel workers) slows
the floor as much as the SDK, while an SDK that starts loading something heavy still
fails on any machine.

The probes run with a bytecode cache, as an installed wheel has (pip compiles it on
install): the first probe of a run fills a private cache (PYTHONPYCACHEPREFIX), so a
machine that sets PYTHONDONTWRITEBYTECODE does not time the compiler instead of the SDK.
"""

import json
import os
import subprocess
import sys
import tempfile

import pytest

LIMIT_SECONDS = 0.3
#: The SDK may take at most this many times the floor's import (measured: 1.5-1.7x).
FLOOR_RATIO = 2.0
FLOOR_STATEMENT = "import sqlalchemy, sqlalchemy.orm"
FORBIDDEN = ("nicegui", "tkinter", "_tkinter", "fastapi", "uvicorn", "alembic")

_PROBE = """
import json, sys, time
started = time.perf_counter()
{statement}
elapsed = time.perf_counter() - started
print(json.dumps({{"elapsed": elapsed, "loaded": [m for m in {forbidden!r} if m in sys.modules]}}))
"""


_CACHE = tempfile.mkdtemp(prefix="openorch-pycache-")
_ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPYCACHEPREFIX": _CACHE,
}


def _probe(statement: str) -> dict[str, object]:
    code = _PROBE.format(statement=statement, forbidden=FORBIDDEN)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=_ENV,
    )
    return dict(json.loads(result.stdout))


@pytest.mark.parametrize(
    "statement",
    [
        "import openorch",
        "from openorch import OrchestratorConnection",
        "from OpenOrchestrator.orchestrator_connection.connection import OrchestratorConnection",
        "from OpenOrchestrator.database.queues import QueueStatus",
        "import OpenOrchestrator.database.db_util, OpenOrchestrator.common.crypto_util",
    ],
)
def test_sdk_import_is_light_and_fast(statement: str) -> None:
    first = _probe(statement)  # also fills the bytecode cache, as installing would
    assert first["loaded"] == [], f"{statement!r} loads {first['loaded']}"
    times = [float(str(_probe(statement)["elapsed"]))]
    while min(times) > LIMIT_SECONDS and len(times) < 5:
        times.append(float(str(_probe(statement)["elapsed"])))
    best = min(times)
    if best <= LIMIT_SECONDS:
        return
    floor = min(float(str(_probe(FLOOR_STATEMENT)["elapsed"])) for _ in range(5))
    limit = max(LIMIT_SECONDS, FLOOR_RATIO * floor)
    assert best <= limit, (
        f"{statement!r} took {best:.3f} s (limit {limit:.3f} s: {FLOOR_RATIO}x the "
        f"{floor:.3f} s of {FLOOR_STATEMENT!r} on this machine, at least {LIMIT_SECONDS} s)"
    )


def test_plain_import_does_not_load_the_database_layer() -> None:
    code = "import sys, openorch; print('sqlalchemy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"

"""The original OpenOrchestrator 3.0.0's own 22 API tests, taken unchanged from its wheel,
pass against openorch's `OpenOrchestrator` package on SQLite and PostgreSQL."""

import subprocess
import sys

from support.original import OPENORCH_SRC, SCRIPTS, OriginalVenv, clean_env

EXPECTED_TESTS = 22


def _run(python: str, original: OriginalVenv, url: str, pythonpath: str | None) -> dict:
    import json

    env = clean_env()
    env["CONN_STRING"] = url
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    result = subprocess.run(
        [python, str(SCRIPTS / "run_original_tests.py"), str(original.package)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    report: dict = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def _explain(report: dict) -> str:
    return "\n\n".join(f"{name}\n{text}" for name, text in report["failures"] + report["errors"])


def test_the_originals_api_tests_pass_on_openorch(original: OriginalVenv, empty_url: str) -> None:
    report = _run(sys.executable, original, empty_url, str(OPENORCH_SRC))
    assert report["package"] == str(OPENORCH_SRC / "OpenOrchestrator")  # not the original
    assert report["ran"] == EXPECTED_TESTS
    assert not report["skipped"]
    assert not report["failures"] and not report["errors"], _explain(report)


def test_the_harness_runs_them_on_the_original_too(
    original: OriginalVenv, sqlite_empty_url: str
) -> None:
    """Control: the same runner, on the original itself, passes all 22 (so a failure above
    is openorch's, not the harness's)."""
    report = _run(str(original.python), original, sqlite_empty_url, None)
    assert report["package"] == str(original.package)
    assert (report["ran"], report["failures"], report["errors"]) == (EXPECTED_TESTS, [], [])

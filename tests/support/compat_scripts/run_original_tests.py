"""Run the original OpenOrchestrator 3.0.0's own API tests (from its wheel) against
whichever `OpenOrchestrator` package is importable; print one JSON line with the result.

    python run_original_tests.py <original package folder>

The tests import `OpenOrchestrator.tests.db_test_util` and read the database from the
CONN_STRING environment variable. The test files are copied unchanged into a temp
folder that is added to the importable package's search path for the `tests`
subpackage only, so every other `OpenOrchestrator.*` import resolves to the package under
test (openorch's compatibility package, or the original itself as a control).
"""

import json
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

MODULES = ("test_db_util", "test_orchestrator_connection", "test_jobs")


def main() -> None:
    original_package = Path(sys.argv[1])
    import OpenOrchestrator

    package_dir = Path(OpenOrchestrator.__file__).resolve().parent
    if package_dir != original_package.resolve():
        shim = Path(tempfile.mkdtemp(prefix="oo-tests-"))
        shutil.copytree(original_package / "tests", shim / "tests")
        OpenOrchestrator.__path__.append(str(shim))
    names = [f"OpenOrchestrator.tests.{module}" for module in MODULES]
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
    print(
        json.dumps(
            {
                "package": str(package_dir),
                "ran": result.testsRun,
                "failures": [[str(test), text] for test, text in result.failures],
                "errors": [[str(test), text] for test, text in result.errors],
                "skipped": [str(test) for test, _reason in result.skipped],
            }
        )
    )


if __name__ == "__main__":
    main()

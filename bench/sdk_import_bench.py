"""What importing the SDK costs a robot process, as ratios that hold on a busy machine.

Each statement runs in fresh interpreters (best of `--runs`), timed from outside, in the
same run as two floors: a bare interpreter (`pass`) and `import sqlalchemy, sqlalchemy.orm`
(what any SDK on this schema must load). The ratios to the floors are the figures to
compare between versions; the milliseconds are the machine's. With `--callgrind` it also
counts instructions of one run each under valgrind (deterministic to a few million:
hash randomisation), the measure docs/benchmarks.md compares releases by.

Bytecode is cached in a private folder (PYTHONPYCACHEPREFIX) as an installed wheel has;
`--no-cache` measures a machine that sets PYTHONDONTWRITEBYTECODE instead.

    PYTHONPATH=src python bench/sdk_import_bench.py [--runs 9] [--callgrind] [--no-cache]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STATEMENTS = {
    "bare interpreter": "pass",
    "import sqlalchemy, sqlalchemy.orm": "import sqlalchemy, sqlalchemy.orm",
    "from openorch import OrchestratorConnection": ("from openorch import OrchestratorConnection"),
    "OpenOrchestrator's OrchestratorConnection": (
        "from OpenOrchestrator.orchestrator_connection.connection import OrchestratorConnection"
    ),
}


def _env(cache: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def wall(statement: str, env: dict[str, str]) -> float:
    """Seconds for a fresh interpreter to run `statement` and exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, env=env)
    return time.perf_counter() - started


def instructions(statement: str, env: dict[str, str]) -> int:
    """Instructions the whole process executes, counted by callgrind."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        result = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-c",
                statement,
            ],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        found = re.search(r"Collected : (\d+)", result.stderr)
        if found is None:
            raise RuntimeError(result.stderr[-500:])
        return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    cache = None if args.no_cache else Path(tempfile.mkdtemp(prefix="openorch-bench-pyc-"))
    env = _env(cache)
    try:
        for statement in STATEMENTS.values():  # fill the bytecode cache, as installing does
            wall(statement, env)
        best: dict[str, float] = {}
        for _ in range(args.runs):  # interleaved, so load changes hit every statement alike
            for name, statement in STATEMENTS.items():
                best[name] = min(best.get(name, float("inf")), wall(statement, env))
        bare = best["bare interpreter"]
        floor = best["import sqlalchemy, sqlalchemy.orm"]
        results = []
        for name, statement in STATEMENTS.items():
            row: dict[str, object] = {
                "statement": name,
                "best_ms": round(best[name] * 1000, 1),
                "x_bare": round(best[name] / bare, 2),
                "x_sqlalchemy": round(best[name] / floor, 2),
            }
            if args.callgrind and shutil.which("valgrind"):
                row["instructions_M"] = round(instructions(statement, env) / 1e6, 1)
            results.append(row)
        print(
            json.dumps(
                {"runs": args.runs, "cached_bytecode": cache is not None, "results": results},
                indent=2,
            )
        )
    finally:
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()

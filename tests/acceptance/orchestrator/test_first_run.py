"""`openorch o` on a machine where nothing is configured: it says local mode, where the
database and key are and the address to open, and the database exists before any
browser asks for the page."""

import os
import subprocess
import sys
import time
from pathlib import Path

from openorch.orchestrator.main import free_port

SRC = Path(__file__).resolve().parents[3] / "src"


def test_first_run_says_local_mode_paths_and_address(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "OPENORCH_HOME": str(home),
    }
    for name in ("OpenOrchestratorConnString", "OpenOrchestratorKey", "PYTEST_CURRENT_TEST"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "openorch", "o", "-d", "-p", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            if "?token=" in line:  # the address to open, the last thing it says
                break
        output = "\n".join(lines)
        assert "Local mode" in output, output
        assert f"database: {home / 'openorch.db'}" in output
        assert f"key file: {home / 'openorch.key'}" in output
        assert f"Orchestrator running on http://127.0.0.1:{port}/" in output
        assert f"http://127.0.0.1:{port}/?token=" in output
        # Created at start, before any page load; the key's value is never printed.
        assert (home / "openorch.db").stat().st_size > 0
        key = (home / "openorch.key").read_text().strip()
        assert key not in output
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

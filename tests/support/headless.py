"""A real `openorch s --headless` subprocess for tests, with its output in a file.

Shared by the headless and reliability tests: they start the real CLI (not the engine in
a thread) because signals, exit codes and what reaches stdout are only real there.
"""

import os
import subprocess
import sys
import time
from pathlib import Path


class Headless:
    """A headless Scheduler subprocess; `extra_env` adds variables its processes inherit,
    `wrapper` is a command to start it under (faketime)."""

    def __init__(
        self,
        folder: Path,
        url: str | None,
        key: str | None,
        *flags: str,
        extra_env: dict[str, str] | None = None,
        wrapper: list[str] | None = None,
    ) -> None:
        self.output = folder / f"scheduler-{time.monotonic_ns()}.txt"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OpenOrchestrator")}
        env["OPENORCH_HOME"] = str(folder / "home")
        env["PYTHONUNBUFFERED"] = "1"
        env.update(extra_env or {})
        if url is not None:
            env["OpenOrchestratorConnString"] = url
        if key is not None:
            env["OpenOrchestratorKey"] = key
        self.home = Path(env["OPENORCH_HOME"])
        # `wrapper` runs it under another command, e.g. ["faketime", "-f", "+300s"].
        command = [*(wrapper or []), sys.executable, "-m", "openorch", "s", "--headless", *flags]
        with self.output.open("wb") as sink:
            self.process = subprocess.Popen(
                command, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=folder
            )

    @property
    def log_dir(self) -> Path:
        """Where this Scheduler writes its processes' stdout and stderr files."""
        return self.home / "scheduler" / "logs"

    def text(self) -> str:
        """Everything the Scheduler printed so far (stdout and stderr)."""
        return self.output.read_text(errors="replace")

    def wait_for_output(self, needle: str, timeout: float = 20) -> None:
        """Wait until the output contains `needle`; fail if the Scheduler exits first."""
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            assert self.process.poll() is None, f"exited early:\n{self.text()}"
            assert time.monotonic() < deadline, f"no {needle!r} in:\n{self.text()}"
            time.sleep(0.05)

    def finish(self, timeout: float = 20) -> int:
        """Wait for the exit code; kill the Scheduler and fail if it does not exit."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"did not exit:\n{self.text()}") from None

    def kill(self) -> None:
        """End it if it still runs (test teardown)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

"""A real `openorch api` server subprocess for tests, with an httpx client on it."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ApiServer:
    """`python -m openorch api --conn URL --port P`, its output in a file."""

    def __init__(
        self, folder: Path, url: str, *flags: str, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.output = folder / f"api-{self.port}.txt"
        extra = env or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("OpenOrchestrator")}
        env.update(extra)  # e.g. libfaketime's LD_PRELOAD and FAKETIME
        env["OPENORCH_HOME"] = str(folder / "api-home")
        env["PYTHONUNBUFFERED"] = "1"
        command = [
            sys.executable,
            "-m",
            "openorch",
            "api",
            "--conn",
            url,
            "--port",
            str(self.port),
            *flags,
        ]
        with self.output.open("wb") as sink:
            self.process = subprocess.Popen(
                command, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=folder
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"api exited early:\n{self.text()}"
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=2).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"api not ready:\n{self.text()}"
            time.sleep(0.1)

    def client(self, token: str | None = None) -> httpx.Client:
        """A client on the server, with `token` as its bearer token."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=f"{self.base}/api/v1", headers=headers, timeout=10)

    def text(self) -> str:
        """Everything the server printed."""
        return self.output.read_text(errors="replace")

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

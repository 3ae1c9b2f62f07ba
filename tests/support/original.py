"""The real OpenOrchestrator 3.0.0, installed from the package registry into a side
virtualenv that openorch's tests run scripts in.

The virtualenv is cached in the temp folder, keyed by version and Python version
(`openorch-original-3.0.0-py311`), so only the first run on a machine downloads anything
(about 10 s); `OPENORCH_ORIGINAL_VENV` names another folder. It holds the original with
only the runtime dependencies its data layer and SDK import (SQLAlchemy 2.0, cronsim,
cryptography 45, psycopg for PostgreSQL), not its GUI stack (NiceGUI, Tk), which these
tests never import.

Helpers here run a script under either implementation:
- `run_original(script, ...)`: the side virtualenv's Python, importing the original.
- `run_openorch(script, ...)`: this interpreter, importing openorch's `OpenOrchestrator`
  compatibility package (src/ first on the path), never the original.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import OpenOrchestrator as compat_package

VERSION = "3.0.0"

#: The original's pins (its wheel's Requires-Dist) for what its data layer imports.
RUNTIME_REQUIREMENTS = (
    "SQLAlchemy==2.0.*",
    "cronsim==2.6",
    "cryptography==45.0.*",
    "psycopg[binary]>=3.1",
)

#: openorch's src folder (the one this test run imports), put first on PYTHONPATH.
OPENORCH_SRC = Path(compat_package.__file__).resolve().parents[1]

#: Where the scripts the compat tests run live.
SCRIPTS = Path(__file__).resolve().parent / "compat_scripts"


@dataclass(frozen=True)
class OriginalVenv:
    """A virtualenv with OpenOrchestrator 3.0.0 installed."""

    root: Path

    @property
    def python(self) -> Path:
        """Its interpreter."""
        folder = "Scripts" if os.name == "nt" else "bin"
        return self.root / folder / ("python.exe" if os.name == "nt" else "python")

    @property
    def package(self) -> Path:
        """The installed original `OpenOrchestrator` package folder."""
        found = subprocess.run(
            [str(self.python), "-c", "import OpenOrchestrator; print(OpenOrchestrator.__file__)"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env=clean_env(),
        )
        return Path(found.stdout.strip()).parent


def _default_root() -> Path:
    override = os.environ.get("OPENORCH_ORIGINAL_VENV")
    if override:
        return Path(override)
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    return Path(tempfile.gettempdir()) / f"openorch-original-{VERSION}-{tag}"


def _pip(python: Path, *args: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--disable-pip-version-check",
            *args,
        ],
        check=True,
        timeout=600,
        capture_output=True,
    )


@contextmanager
def _build_lock(root: Path) -> Iterator[None]:
    """Hold an exclusive lock beside `root` (xdist workers and parallel runs ask for the
    side virtualenv at once: one builds it, the others wait and reuse it). Where `fcntl`
    is missing (Windows) nothing is held; the atomic rename below still keeps a
    half-built virtualenv from being used."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.with_name(f"{root.name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def original_venv(root: Path | None = None) -> OriginalVenv:
    """The cached side virtualenv, built on first use (atomically: a half-built one is
    never used, and two test runs building at once both end with a complete one; a
    lock makes the second wait for the first instead of downloading too)."""
    root = root or _default_root()
    ready = root / "openorch-ready"
    if ready.is_file():
        return OriginalVenv(root)
    with _build_lock(root):
        if ready.is_file():  # built by another worker while this one waited
            return OriginalVenv(root)
        return _build(root)


def _build(root: Path) -> OriginalVenv:
    """Build the side virtualenv in a staging folder and rename it to `root`."""
    staging = root.with_name(f"{root.name}.building-{uuid.uuid4().hex[:8]}")
    venv.create(staging, with_pip=False, clear=True)
    built = OriginalVenv(staging)
    try:
        _pip(built.python, "--no-deps", f"OpenOrchestrator=={VERSION}")
        _pip(built.python, *RUNTIME_REQUIREMENTS)
    except subprocess.CalledProcessError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(
            f"Could not install OpenOrchestrator=={VERSION} from the package registry: "
            f"{error.stderr.decode(errors='replace')[-2000:]}"
        ) from error
    (staging / "openorch-ready").write_text(VERSION)
    try:
        staging.rename(root)
    except OSError:  # another run finished first: use its copy
        shutil.rmtree(staging, ignore_errors=True)
    # The venv's scripts hard-code their folder; it moved, so call python by path only.
    return OriginalVenv(root)


def _run(python: str, script: Path, args: list[str], env: dict[str, str], timeout: float) -> Any:
    result = subprocess.run(
        [python, str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{script.name} {' '.join(args)} failed under {python}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    lines = [line for line in result.stdout.splitlines() if line[:1] in ("{", "[")]
    return json.loads(lines[-1]) if lines else None


def clean_env() -> dict[str, str]:
    env = {k: val for k, val in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.pop("OpenOrchestratorConnString", None)
    env.pop("OpenOrchestratorKey", None)
    return env


def run_original(original: OriginalVenv, script: str, *args: str, timeout: float = 300) -> Any:
    """Run `compat_scripts/<script>` with the original 3.0.0; returns its last JSON line."""
    env = clean_env()
    env["PYTHONPATH"] = str(SCRIPTS)
    return _run(str(original.python), SCRIPTS / script, list(args), env, timeout)


def run_openorch(script: str, *args: str, timeout: float = 300) -> Any:
    """Run `compat_scripts/<script>` with openorch's compatibility package."""
    env = clean_env()
    env["PYTHONPATH"] = os.pathsep.join([str(OPENORCH_SRC), str(SCRIPTS)])
    return _run(sys.executable, SCRIPTS / script, list(args), env, timeout)

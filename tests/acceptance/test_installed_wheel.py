"""The built wheel, installed (not editable) in a fresh virtual environment, works from
any folder: the migrations ship inside it and nothing depends on this checkout."""

import os
import re
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from openorch.store import HEAD_REVISION, Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def installed_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A venv holding the openorch wheel; its dependencies come from the environment
    running the tests (a contributor's virtualenv, CI's), not the base interpreter.

    A `.pth` file lists this environment's site-packages folders as plain paths: they
    follow the new venv's own site-packages (so the wheel's openorch wins), and a plain
    path line does not run the `.pth` files inside them, so the editable checkout that
    this environment may hold stays invisible.
    """
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = work.glob("openorch-*.whl")
    environment = work / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(environment)
    python = environment / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    inner = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(inner, "openorch-test-dependencies.pth").write_text("\n".join(sorted(outer)) + "\n")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    yield environment


def _openorch(environment: Path) -> Path:
    return environment / ("Scripts/openorch.exe" if os.name == "nt" else "bin/openorch")


def _run(environment: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    return subprocess.run(
        [str(_openorch(environment)), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_wheel_ships_the_migrations_and_imports_from_site_packages(
    installed_venv: Path, tmp_path: Path
) -> None:
    python = installed_venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    result = subprocess.run(
        [
            str(python),
            "-c",
            "import openorch, openorch.migrate as m; "
            "print(openorch.__file__); print(m.script_location())",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert result.returncode == 0, result.stderr
    module_file, migrations = result.stdout.split()
    assert str(ROOT / "src") not in module_file
    assert migrations.endswith(os.path.join("openorch", "migrations"))
    assert (Path(migrations) / "versions").is_dir()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_installed_upgrade_new_creates_a_database_at_head(
    installed_venv: Path, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'x.db'}"
        if backend == "sqlite"
        else str(request.getfixturevalue("pg_empty_url"))
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = _run(installed_venv, "upgrade", url, "--new", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert f"Revision after: {HEAD_REVISION}" in result.stdout
    store = Store(url)
    assert store.check_database_revision()
    store.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_newcomer_first_hour_in_local_mode(installed_venv: Path, tmp_path: Path) -> None:
    """README's commands with nothing configured: the Orchestrator and a headless
    Scheduler share local mode's database, and the example process runs end to end."""
    import time
    import urllib.request

    from openorch.database import QueueStatus, TriggerStatus

    home = tmp_path / "home"
    env = {  # as a newcomer's shell: nothing configured, not under pytest
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "OpenOrchestratorConnString", "OpenOrchestratorKey")
        and not k.startswith(("PYTEST", "NICEGUI"))
    }
    env["OPENORCH_HOME"] = str(home)
    python = installed_venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    port = _free_port()
    logs = tmp_path / "out"
    logs.mkdir()
    with (logs / "o.txt").open("w") as o_out, (logs / "s.txt").open("w") as s_out:
        orchestrator = subprocess.Popen(
            [str(_openorch(installed_venv)), "o", "-d", "-p", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=o_out,
            stderr=subprocess.STDOUT,
        )
        scheduler = subprocess.Popen(
            [str(_openorch(installed_venv)), "s", "--headless", "--poll-interval", "0.5"],
            cwd=tmp_path,
            env=env,
            stdout=s_out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        page = ""
        # A browser with cookies opening the address (with the token) that `openorch o`
        # printed, as a newcomer does.
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        while time.monotonic() < deadline:
            printed = re.search(
                rf"http://127\.0\.0\.1:{port}/\?token=\S+", (logs / "o.txt").read_text()
            )
            try:
                if printed:
                    # The sign-in page keeps its secret and goes on to "/" by script,
                    # which this opener does by hand (with the cookie it got).
                    with browser.open(printed.group(0), timeout=2) as answer:
                        assert "localStorage" in answer.read().decode()
                    with browser.open(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                        page = answer.read().decode()
                        break
            except OSError:
                pass
            time.sleep(0.3)
        assert "client_id" in page, (logs / "o.txt").read_text()
        setup = subprocess.run(
            [str(python), str(ROOT / "examples" / "setup_example.py")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert setup.returncode == 0, setup.stderr
        assert str(home / "openorch.db") in setup.stdout

        store = Store(f"sqlite:///{home / 'openorch.db'}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            (trigger,) = store.get_all_triggers()
            if trigger.process_status in (TriggerStatus.DONE, TriggerStatus.FAILED):
                break
            time.sleep(0.3)
        assert trigger.process_status == TriggerStatus.DONE, (logs / "s.txt").read_text()
        counts = store.get_queue_count()["example_invoices"]
        assert counts[QueueStatus.DONE] == 10
        messages = [log.log_message for log in store.get_logs(process_name="example_invoices")]
        assert "Done: paid 10 invoices" in messages
        assert all(
            log.job_id is not None for log in store.get_logs(process_name="example_invoices")
        )
        store.close()
        key_file = home / "openorch.key"
        if os.name != "nt":
            assert key_file.stat().st_mode & 0o077 == 0
    finally:
        for process in (scheduler, orchestrator):
            process.send_signal(2)
        for process in (scheduler, orchestrator):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

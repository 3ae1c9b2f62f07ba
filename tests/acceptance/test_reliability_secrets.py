"""Secrets: the key (and a connection string's password, and a credential's password)
stay where they belong, after a real headless Scheduler and an Orchestrator session.

Where they may be, by design:
- the key and the connection string are in each process's argv (the original's
  contract, see docs/reliability.md "Known limits"), so this file checks that the job's
  output files hold exactly what the process printed, nothing the Scheduler added;
- nowhere else: the Orchestrator's page shows neither the key (Settings says where it
  comes from) nor the connection string's password (shown masked). Every element as
  sent to the browser, every notification and the page source a browser loads are
  searched.

Also: the Orchestrator listens on 127.0.0.1 only unless asked (`--host`).
"""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
from nicegui.storage import Storage
from nicegui.testing.user import User
from nicegui.testing.user_simulation import user_simulation

import openorch.orchestrator.main as orchestrator_main
from openorch.config import ENV_CONN, ENV_HOME, ENV_KEY
from openorch.database import TriggerStatus
from openorch.store import Store
from support.dump import as_text, dump_tables
from support.headless import Headless
from support.processes.harness import jobs_of, script, single_due, trigger_status
from support.ui import one, show_tab, sign_in, table_rows, until

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals")

#: A credential password that must never be shown or stored in clear.
CREDENTIAL_PASSWORD = f"credential-pw-{uuid.uuid4().hex}"
#: A password in the PostgreSQL connection string (the throwaway server trusts every
#: login, so it is accepted and ignored): it must not be printed or stored either.
CONN_PASSWORD = f"conn-pw-{uuid.uuid4().hex}"
#: What secretive.py prints: its stdout file must hold exactly this.
ROBOT_STDOUT = b"robot says hello\n"


@dataclass
class SchedulerRun:
    """What a headless Scheduler left behind after running the test's triggers."""

    output: str
    job_files: dict[Path, bytes]
    robot_job: uuid.UUID
    failing_job: uuid.UUID


@pytest.fixture
def secret_url(db_url: str) -> str:
    """The test database's URL, with a password in it on PostgreSQL."""
    url = sa.make_url(db_url)
    if url.get_backend_name() == "postgresql":
        return url.set(password=CONN_PASSWORD).render_as_string(hide_password=False)
    return db_url


def run_scheduler(url: str, key: str, folder: Path) -> SchedulerRun:
    """Seed a constant and a credential, run one SDK robot and one failing process
    through a real headless Scheduler, stop it with SIGINT, and collect its files."""
    store = Store(url, crypto_key=key)
    store.create_constant("greeting", "hello")
    store.create_credential("mail", "robot@example.com", CREDENTIAL_PASSWORD)
    robot = single_due(store, script("secretive.py"), "some args", process_name="secretive")
    failing = single_due(store, script("nap_fail.py"), "0", process_name="failing")
    scheduler = Headless(folder, url, key, "--poll-interval", "0.3", "--name", "keeper")
    try:
        deadline = time.monotonic() + 60
        while not all(
            trigger_status(store, trigger) in (TriggerStatus.DONE, TriggerStatus.FAILED)
            for trigger in (robot, failing)
        ):
            assert scheduler.process.poll() is None, scheduler.text()
            assert time.monotonic() < deadline, scheduler.text()
            time.sleep(0.1)
        scheduler.process.send_signal(signal.SIGINT)
        assert scheduler.finish() == 0, scheduler.text()
    finally:
        scheduler.kill()
    assert trigger_status(store, robot) is TriggerStatus.DONE, scheduler.text()
    assert trigger_status(store, failing) is TriggerStatus.FAILED, scheduler.text()
    run = SchedulerRun(
        output=scheduler.text(),
        job_files={path: path.read_bytes() for path in scheduler.log_dir.iterdir()},
        robot_job=jobs_of(store, robot)[0].id,
        failing_job=jobs_of(store, failing)[0].id,
    )
    store.close()
    return run


@pytest.fixture
def nicegui_storage() -> Iterator[None]:
    """Keep NiceGUI's storage files out of the working tree (as tests/orchestrator do)."""
    with tempfile.TemporaryDirectory(prefix="openorch-nicegui-") as folder:
        previous = Storage.path
        Storage.path = Path(folder)
        try:
            yield
        finally:
            Storage.path = previous


def page_elements(user: User) -> dict[int | str, str]:
    """Every element of the page as the browser receives it (JSON), by element id, and
    every notification shown (key "notify": they travel apart from the elements)."""
    client = user.client
    assert client is not None
    shown: dict[int | str, str] = {
        element_id: json.dumps(element._to_dict(), default=str, ensure_ascii=False)
        for element_id, element in client.elements.items()
    }
    shown["notify"] = "\n".join(user.notify.messages)
    return shown


async def orchestrator_session(user: User) -> dict[int | str, str]:
    """Sign in, connect, open every tab, wait for their data; return the page's elements
    and (key "source") the page's HTML as a browser first loads it."""
    await sign_in(user)
    source = (await user.http_client.get("/")).text
    assert "session_pending" in source  # the app's shell, not the login page
    await user.open("/")
    user.find(marker="settings_connect_button").click()
    await user.should_see("Connected!", retries=30)
    for tab in ("Triggers", "Logs", "Jobs", "Constants", "Schedulers", "Queues"):
        await show_tab(user, tab)
    await until(lambda: len(table_rows(user, "credentials_table")) == 1)
    await until(lambda: len(table_rows(user, "trigger_table")) == 2)
    await until(lambda: table_rows(user, "queues_table"))
    await until(lambda: table_rows(user, "schedulers_table"))
    row = table_rows(user, "credentials_table")[0]
    assert row["password"] == "Password set (encrypted)", row
    await show_tab(user, "Settings")
    return {**page_elements(user), "source": source}


@pytest.mark.slow
async def test_the_key_and_passwords_stay_out_of_database_logs_files_and_page(
    secret_url: str,
    crypto_key: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    nicegui_storage: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    conn_password = CONN_PASSWORD if CONN_PASSWORD in secret_url else None
    run = run_scheduler(secret_url, crypto_key, tmp_path)

    # The Scheduler's own output: no key, the connection string masked.
    assert crypto_key not in run.output
    assert conn_password is None or conn_password not in run.output
    assert "Traceback" not in run.output
    # The job files hold what the processes wrote, and nothing else.
    by_name = {path.name: content for path, content in run.job_files.items()}
    assert by_name[f"{_stamp(run.job_files, run.robot_job)}.out.txt"] == ROBOT_STDOUT
    assert by_name[f"{_stamp(run.job_files, run.robot_job)}.err.txt"] == b""
    assert by_name[f"{_stamp(run.job_files, run.failing_job)}.out.txt"] == b""
    assert by_name[f"{_stamp(run.job_files, run.failing_job)}.err.txt"] == (
        b"napped, then failed on purpose\n"
    )
    assert len(run.job_files) == 4

    # An Orchestrator session on the same database, as an admin would use it.
    monkeypatch.setenv(ENV_CONN, secret_url)
    monkeypatch.setenv(ENV_KEY, crypto_key)
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "orchestrator-home"))
    async with user_simulation(main_file=Path(orchestrator_main.__file__)) as user:
        elements = await orchestrator_session(user)
        key_label = one(user, "settings_key_label").text
    errors = [r.getMessage() for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, errors
    # The key is nowhere: not in an input, not in the page source, not in a notification.
    with_key = {key for key, text in elements.items() if crypto_key in text}
    assert not with_key, [elements[key][:300] for key in with_key]
    assert "environment variable OpenOrchestratorKey" in key_label  # said where it is
    if conn_password is not None:
        with_password = {key for key, text in elements.items() if conn_password in text}
        assert not with_password, [elements[key][:300] for key in with_password]
    page = "\n".join(elements.values())
    assert CREDENTIAL_PASSWORD not in page, "a credential is shown decrypted"
    assert "secretive" in page and "Password set (encrypted)" in page  # the search saw the data

    # Every column of every table, the Logs included, after both programs ran.
    database = as_text(dump_tables(secret_url))
    assert "robot ran with some args" in database  # the dump does see the logs
    assert "napped, then failed on purpose" in database
    for secret in (crypto_key, CREDENTIAL_PASSWORD, conn_password):
        if secret is not None:
            assert secret not in database


def _stamp(files: dict[Path, bytes], job_id: uuid.UUID) -> str:
    """The `<timestamp>_<job id>` stem of a job's output files."""
    (stem,) = {path.name.split(".", 1)[0] for path in files if str(job_id) in path.name}
    return stem


# --- where the Orchestrator listens ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _other_local_addresses() -> list[str]:
    """This machine's IPv4 addresses outside 127.0.0.0/8 (none in some containers)."""
    return [
        address.address
        for addresses in psutil.net_if_addrs().values()
        for address in addresses
        if address.family == socket.AF_INET and not address.address.startswith("127.")
    ]


@pytest.mark.slow
def test_the_orchestrator_listens_on_loopback_only_by_default(tmp_path: Path) -> None:
    port = _free_port()
    env = {  # as an admin's shell: not under pytest (NiceGUI behaves differently there)
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "NICEGUI", "OpenOrchestrator"))
    }
    env["OPENORCH_HOME"] = str(tmp_path / "home")
    output = tmp_path / "orchestrator.txt"
    with output.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "openorch", "o", "-d", "-p", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, output.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, output.read_text()
                time.sleep(0.2)

        process = psutil.Process(server.pid)
        listening = [
            connection.laddr
            for member in (process, *process.children(recursive=True))
            for connection in member.net_connections(kind="inet")
            if connection.status == psutil.CONN_LISTEN
        ]
        assert listening, "no listening socket found"
        assert {address.ip for address in listening} == {"127.0.0.1"}, listening
        assert port in {address.port for address in listening}

        for address in _other_local_addresses():
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()
        if socket.has_ipv6:
            with pytest.raises(OSError):
                socket.create_connection(("::1", port), timeout=2).close()
        print(f"\n[reliability] non-loopback addresses refused: {_other_local_addresses()}")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

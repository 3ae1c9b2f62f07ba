"""The Tk window under Xvfb, driven through its widgets (button.invoke(), entries, the
text area), with the real engine running beside the Tk main loop."""

import contextlib
import gc
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from openorch.database import JobStatus, TriggerStatus
from openorch.store import Store
from support.databases import missing
from support.processes.harness import jobs_of, script, single_due, trigger_status


@pytest.fixture(autouse=True)
def _collect_tk_objects() -> Iterator[None]:
    """Collect the test's Tk objects here, on the main thread. The window's variables sit
    in reference cycles; left to a later collection, that may run on another test's
    server thread on this worker, where `Variable.__del__` raises "main thread is not in
    main loop" into that test (CI saw it fail an audit API test)."""
    yield
    gc.collect()


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """An X display: the caller's, or a private Xvfb on a free display number."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        missing("a display (Xvfb)")
    # Xvfb picks a free display number itself and writes it to a pipe (-displayfd):
    # choosing one here by looking at /tmp/.X*-lock races with parallel test workers.
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],  # type: ignore[list-item]
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(write_end,),
    )
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        announced = reader.readline().strip()  # empty when Xvfb died before choosing
    if not announced.isdigit():
        server.kill()
        server.wait(10)
        missing("a working Xvfb")
    number = int(announced)
    os.environ["DISPLAY"] = f":{number}"
    try:
        yield f":{number}"
    finally:
        del os.environ["DISPLAY"]
        server.terminate()
        server.wait(10)


def _pump(root: object, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Run the Tk loop by hand until `condition()` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        root.update()  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_window_connects_runs_pauses_and_asks_before_closing(
    display: str, sqlite_db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    import tkinter as tk

    from openorch.scheduler.window import SchedulerWindow

    root = tk.Tk()
    options = {
        "poll_interval": 0.2,
        "clone_dir": tmp_path / "clones",
        "log_dir": tmp_path / "logs",
        "grace_period": 5.0,
    }
    window = SchedulerWindow(root, "", "", "tk-scheduler", False, options)
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    try:
        root.update()
        assert window.tabs.select() == str(window.settings_tab)  # opens on Settings

        window.run_button.invoke()  # not connected yet
        assert "Not connected" in window.output_text()

        window.conn_entry.insert(0, sqlite_db_url)
        window.key_entry.insert(0, "not a key")
        window.connect_button.invoke()
        assert "Invalid AES key" in window.output_text()
        assert window.engine is None

        window.key_entry.delete(0, "end")
        window.key_entry.insert(0, crypto_key)
        window.connect_button.invoke()
        assert "Connected to" in window.output_text()
        for entry in (window.conn_entry, window.key_entry, window.name_entry):
            assert str(entry.cget("state")) == "disabled"
        assert str(window.connect_button.cget("state")) == "disabled"

        trigger_id = single_due(store, script("ok.py"), "from the window")
        assert window.run_button.cget("text") == "Run"
        _pump(root, lambda: window.state_var.get() == "State: paused")
        window.run_button.invoke()
        assert window.run_button.cget("text") == "Pause"
        assert window.state_var.get() == "State: running"
        # The same state value reaches the Schedulers table through the heartbeat.
        _pump(root, lambda: any(row.engine_state == "running" for row in store.get_schedulers()))
        _pump(root, lambda: trigger_status(store, trigger_id) is TriggerStatus.DONE)
        _pump(root, lambda: "finished (exit 0" in window.output_text())
        assert jobs_of(store, trigger_id)[0].scheduler_name == "tk-scheduler"

        pid_file = tmp_path / "pids.txt"
        sleeper = single_due(store, script("sleeper.py"), str(pid_file))
        _pump(root, pid_file.exists)
        parent, child = (int(pid) for pid in pid_file.read_text().split())

        window.run_button.invoke()
        assert window.run_button.cget("text") == "Run"
        _pump(root, lambda: "Paused" in window.output_text())

        window.disconnect_button.invoke()
        assert "Cannot disconnect: 1 process(es) still running" in window.output_text()

        asked: list[str] = []

        def refuse(title: str, _message: str) -> bool:
            asked.append(title)
            return False

        window.confirm = refuse
        window.close()
        assert asked == ["Processes are running"]
        assert root.winfo_exists() and _alive(parent)

        window.confirm = lambda _title, _message: True
        window.close()
        assert not _alive(parent) and not _alive(child)
        assert trigger_status(store, sleeper) is TriggerStatus.KILLED
        assert jobs_of(store, sleeper)[0].status is JobStatus.KILLED
    finally:
        store.close()
        if window.engine is not None:
            window.engine.stop(0)
        with contextlib.suppress(tk.TclError):  # already closed by the window
            root.destroy()


def test_the_text_area_keeps_the_newest_1000_lines(display: str) -> None:
    import tkinter as tk

    from openorch.scheduler.window import MAX_LINES, SchedulerWindow

    root = tk.Tk()
    try:
        window = SchedulerWindow(root)
        for number in range(1500):
            window.write(f"line {number}")
        text = window.output_text().splitlines()
        assert len(text) == MAX_LINES
        assert text[0] == "line 500" and text[-1] == "line 1499"
        window.disconnect_button.invoke()  # harmless when not connected
    finally:
        root.destroy()


def test_settings_labels_do_not_touch_their_fields(display: str) -> None:
    import tkinter as tk

    from openorch.scheduler.window import SchedulerWindow

    root = tk.Tk()
    try:
        window = SchedulerWindow(root)
        window.tabs.select(window.settings_tab)
        root.update()
        label_end = window.conn_label.winfo_x() + window.conn_label.winfo_width()
        assert window.conn_entry.winfo_x() - label_end >= 8, (
            label_end,
            window.conn_entry.winfo_x(),
        )
    finally:
        root.destroy()


def test_a_name_held_by_a_running_scheduler_is_shown_before_connecting(
    display: str, sqlite_db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    import platform
    import tkinter as tk

    from openorch.scheduler.window import SchedulerWindow
    from support.headless import Headless

    flags = ("--name", "shared", "--poll-interval", "0.3", "--heartbeat-timeout", "3")
    holder = Headless(tmp_path, sqlite_db_url, crypto_key, *flags, "--no-watchdog")
    root = tk.Tk()
    options = {"poll_interval": 0.3, "heartbeat_timeout": 3.0, "watchdog": False}
    options |= {"clone_dir": tmp_path / "clones", "log_dir": tmp_path / "logs"}
    window = SchedulerWindow(root, sqlite_db_url, crypto_key, "shared", False, options)
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    replacer: Headless | None = None
    try:
        holder.wait_for_output("Registered as run")
        held_by = store.get_schedulers()[0].run_id
        asked: list[str] = []

        def press(button: str) -> None:
            """Press a button of the Replace/Cancel dialog once it is open."""
            dialog = window.replace_dialog
            if dialog is None:
                root.after(50, press, button)
                return
            asked.append(str(dialog.message.cget("text")))
            {"Replace": dialog.replace_button, "Cancel": dialog.cancel_button}[button].invoke()

        root.after(50, press, "Cancel")
        window.connect_button.invoke()
        (message,) = asked
        assert f"machine '{platform.node()}', pid {holder.process.pid}" in message
        assert "choose Replace" in message and "another Scheduler name" in message
        assert window.replace_dialog is None
        assert window.engine is None and str(window.connect_button.cget("state")) == "normal"
        assert "Not connected: The name 'shared' is held" in window.status_var.get()
        assert f"pid {holder.process.pid}" in window.output_text()
        time.sleep(0.5)
        assert holder.process.poll() is None and store.get_schedulers()[0].run_id == held_by

        root.after(50, press, "Replace")
        window.connect_button.invoke()
        assert len(asked) == 2 and window.engine is not None
        _pump(root, lambda: "Replaced the running Scheduler" in window.output_text())
        assert holder.finish(10) == 0, holder.text()
        assert "took over the name 'shared'" in holder.text()
        assert store.get_schedulers()[0].run_pid == os.getpid()

        # Replaced in turn: the window notices, disconnects and says why.
        replacer = Headless(tmp_path, sqlite_db_url, crypto_key, *flags, "--replace")
        replacer.wait_for_output("Registered as run")
        _pump(root, lambda: window.engine is None)
        assert "took over the name 'shared'" in window.output_text()
        assert "the Scheduler stopped" in window.status_var.get()
        assert str(window.name_entry.cget("state")) == "normal"
    finally:
        store.close()
        holder.kill()
        if replacer is not None:
            replacer.kill()
        if window.engine is not None:
            window.engine.stop(0)
        with contextlib.suppress(tk.TclError):
            root.destroy()

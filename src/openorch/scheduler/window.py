"""`openorch s`: the Scheduler's Tk window over the same engine as headless mode.

The engine runs in a background thread beside the Tk main loop. It never touches a
widget: its lines go through a queue that the main loop drains every 100 ms, and the
window only calls the engine's thread-safe controls (`pause`, `resume`, `stop`).

Tabs: Settings (opens first; connection string, key, Connect/Disconnect,
scheduler name, exclusive mode; locked while connected) and Run (one Run/Pause button
and a read-only text area of at most 1000 lines, newest at the bottom).
"""

import argparse
import contextlib
import os
import queue
import sys
import threading
import tkinter as tk
from collections.abc import Callable
from tkinter import messagebox, ttk
from tkinter.scrolledtext import ScrolledText

from openorch import config as app_config
from openorch.masking import for_terminal
from openorch.scheduler.config import (
    EXIT_CONFIG,
    SchedulerSettings,
    default_name,
    settings_from_args,
    this_run,
)
from openorch.scheduler.engine import DATABASE_ERRORS, RunState, SchedulerEngine, name_in_use
from openorch.scheduler.process_tree import is_running
from openorch.store import ConnectError, Store, describe_connection_error, mask

#: Lines the text area keeps; older ones scroll away.
MAX_LINES = 1000

#: How often the main loop moves engine output into the text area (ms).
DRAIN_MS = 100

#: Space between a label and its field on the Settings tab (pixels; left, right): the
#: "Connection string" label touched its field.
LABEL_GAP = (0, 12)

#: What the window says instead of the headless flags when the name is in use.
REPLACE_HOW = "choose Replace"
OTHER_NAME = "type another Scheduler name on the Settings tab and connect again"


class ReplaceDialog:
    """The choice when a live Scheduler holds the name: **Replace** or **Cancel**
    (Cancel has the focus; closing the dialog cancels). Modal: `ask` returns the choice.
    """

    def __init__(self, root: tk.Tk, title: str, message: str) -> None:
        self.top = tk.Toplevel(root)
        self.top.title(title)
        self.top.transient(root)
        self.message = ttk.Label(self.top, text=message, wraplength=560, justify="left")
        self.message.pack(padx=12, pady=12)
        buttons = ttk.Frame(self.top)
        buttons.pack(pady=(0, 12))
        self.replace_button = ttk.Button(
            buttons, text="Replace", command=lambda: self._choose(True)
        )
        self.replace_button.pack(side="left", padx=6)
        self.cancel_button = ttk.Button(buttons, text="Cancel", command=lambda: self._choose(False))
        self.cancel_button.pack(side="left", padx=6)
        self.cancel_button.focus_set()
        self.top.protocol("WM_DELETE_WINDOW", lambda: self._choose(False))
        self.chosen = False

    def _choose(self, replace: bool) -> None:
        self.chosen = replace
        self.top.destroy()

    def ask(self) -> bool:
        """Wait (the Tk loop runs meanwhile) until a button is pressed; True: Replace."""
        with contextlib.suppress(tk.TclError):  # no grab under some window managers
            self.top.grab_set()
        self.top.wait_window()
        return self.chosen


class SchedulerWindow:
    """The window's widgets and handlers. Handlers are short: read, call, refresh.

    `options` are the SchedulerSettings fields the window has no input for (poll
    interval, interpreter, folders, grace period, heartbeat timeout).
    """

    def __init__(
        self,
        root: tk.Tk,
        conn: str = "",
        key: str = "",
        name: str | None = None,
        exclusive: bool = False,
        options: dict[str, object] | None = None,
    ) -> None:
        self.root = root
        self.options = dict(options or {})
        #: Local mode's database, created on Connect when it is the one typed in.
        self.local_conn_string = f"sqlite:///{app_config.local_database_path()}"
        self.engine: SchedulerEngine | None = None
        self.store: Store | None = None
        self.thread: threading.Thread | None = None
        self.lines: queue.Queue[str] = queue.Queue()
        #: Asks yes/no before closing with processes running (replaceable in tests).
        self.confirm: Callable[[str, str], bool] = messagebox.askokcancel
        #: Asks Replace or Cancel when a live Scheduler holds the name.
        self.ask_replace: Callable[[str, str], bool] = self._ask_replace
        #: The open Replace/Cancel dialog, while it is open.
        self.replace_dialog: ReplaceDialog | None = None

        root.title("openorch Scheduler")
        root.geometry("760x520")
        root.protocol("WM_DELETE_WINDOW", self.close)
        self.tabs = ttk.Notebook(root)
        self.tabs.pack(fill="both", expand=True)
        self.run_tab = ttk.Frame(self.tabs, padding=8)
        self.settings_tab = ttk.Frame(self.tabs, padding=8)
        self.tabs.add(self.run_tab, text="Run")
        self.tabs.add(self.settings_tab, text="Settings")
        self._build_run_tab()
        self._build_settings_tab(conn, key, name or default_name(), exclusive)
        self.tabs.select(self.settings_tab)  # type: ignore[no-untyped-call]  # typeshed gap
        self.root.after(DRAIN_MS, self._drain)

    # --- layout ---------------------------------------------------------------------

    def _build_run_tab(self) -> None:
        style = ttk.Style(self.root)
        style.configure("Big.TButton", font=("TkDefaultFont", 16, "bold"), padding=10)
        self.run_button = ttk.Button(
            self.run_tab, text="Run", style="Big.TButton", command=self.toggle_run
        )
        self.run_button.pack(fill="x")
        self.state_var = tk.StringVar(value="State: not connected")
        self.state_label = ttk.Label(self.run_tab, textvariable=self.state_var)
        self.state_label.pack(anchor="w", pady=(4, 0))
        self.text = ScrolledText(self.run_tab, height=20, wrap="word", state="disabled")
        self.text.pack(fill="both", expand=True, pady=(8, 0))

    def _build_settings_tab(self, conn: str, key: str, name: str, exclusive: bool) -> None:
        frame = self.settings_tab
        frame.columnconfigure(1, weight=1)
        self.conn_var = tk.StringVar(value=conn)
        self.key_var = tk.StringVar(value=key)
        self.name_var = tk.StringVar(value=name)
        self.exclusive_var = tk.BooleanVar(value=exclusive)
        self.conn_label = ttk.Label(frame, text="Connection string")
        self.conn_label.grid(row=0, column=0, sticky="w", pady=3, padx=LABEL_GAP)
        self.conn_entry = ttk.Entry(frame, textvariable=self.conn_var, width=70)
        self.conn_entry.grid(row=0, column=1, sticky="ew", pady=3)
        ttk.Label(frame, text="Encryption key").grid(
            row=1, column=0, sticky="w", pady=3, padx=LABEL_GAP
        )
        self.key_entry = ttk.Entry(frame, textvariable=self.key_var, width=70, show="•")
        self.key_entry.grid(row=1, column=1, sticky="ew", pady=3)
        ttk.Label(frame, text="Scheduler name").grid(
            row=2, column=0, sticky="w", pady=3, padx=LABEL_GAP
        )
        self.name_entry = ttk.Entry(frame, textvariable=self.name_var, width=40)
        self.name_entry.grid(row=2, column=1, sticky="w", pady=3)
        self.exclusive_check = ttk.Checkbutton(
            frame, text="Only run whitelisted triggers", variable=self.exclusive_var
        )
        self.exclusive_check.grid(row=3, column=1, sticky="w", pady=3)
        buttons = ttk.Frame(frame)
        buttons.grid(row=4, column=1, sticky="w", pady=8)
        self.connect_button = ttk.Button(buttons, text="Connect", command=self.connect)
        self.connect_button.pack(side="left")
        self.disconnect_button = ttk.Button(
            buttons, text="Disconnect", command=self.disconnect, state="disabled"
        )
        self.disconnect_button.pack(side="left", padx=8)
        self.status_var = tk.StringVar(value="Not connected.")
        self.status_label = ttk.Label(frame, textvariable=self.status_var, wraplength=600)
        self.status_label.grid(row=5, column=0, columnspan=2, sticky="w")

    # --- output ---------------------------------------------------------------------

    def write(self, line: str) -> None:
        """Queue a line for the text area (safe from any thread), masked and escaped."""
        self.lines.put(for_terminal(line))

    def _drain(self) -> None:
        self.flush_output()
        self._notice_engine_end()
        self._refresh_run_button()
        self.root.after(DRAIN_MS, self._drain)

    def _notice_engine_end(self) -> None:
        """The engine stopped on its own (its name was taken, or a live Scheduler held
        it): release the connection and unlock the inputs, saying why."""
        engine, thread = self.engine, self.thread
        if engine is None or thread is None or thread.is_alive():
            return
        self._stop_engine(0)
        self._lock_inputs(False)
        if engine.refused_by is not None:
            message = name_in_use(engine.refused_by, REPLACE_HOW, OTHER_NAME)
            self.write(message)
            self.status_var.set(f"Not connected: {message}")
        else:
            self.status_var.set("Not connected: the Scheduler stopped (see the Run tab).")

    def flush_output(self) -> None:
        """Move queued lines into the text area, keeping the newest MAX_LINES."""
        new: list[str] = []
        while True:
            try:
                new.append(self.lines.get_nowait())
            except queue.Empty:
                break
        if not new:
            return
        self.text.configure(state="normal")
        self.text.insert("end", "\n".join(new) + "\n")
        count = int(self.text.index("end-1c").split(".")[0]) - 1
        if count > MAX_LINES:
            self.text.delete("1.0", f"{count - MAX_LINES + 1}.0")
        self.text.configure(state="disabled")
        self.text.see("end")

    def output_text(self) -> str:
        """What the text area shows now."""
        self.flush_output()
        return self.text.get("1.0", "end-1c")

    # --- handlers -------------------------------------------------------------------

    def connect(self) -> None:
        """Connect with the typed settings and start the engine thread, paused."""
        if self.engine is not None:
            return
        try:
            settings = SchedulerSettings(
                conn_string=self.conn_var.get().strip(),
                crypto_key=self.key_var.get().strip(),
                name=self.name_var.get().strip(),
                exclusive=self.exclusive_var.get(),
                **self.options,  # type: ignore[arg-type]
            )
            store = Store.open(
                settings.conn_string,
                settings.crypto_key,
                create=settings.conn_string == self.local_conn_string,
            )
        except (ConnectError, ValueError) as error:
            self.status_var.set(f"Not connected: {error}")
            self.write(f"Could not connect: {error}")
            return
        for warning in store.open_warnings:
            self.write(f"Warning: {warning}")
        replace = self._replace_or_cancel(store, settings.name)
        if replace is None:
            store.close()
            self.write("Not connected: the name is in use.")
            return
        self.store = store
        self.engine = SchedulerEngine(settings, store, self.write, paused=True, replace=replace)
        self.thread = threading.Thread(target=self.engine.run, name="scheduler-engine", daemon=True)
        self.thread.start()
        self._lock_inputs(True)
        self.status_var.set(f"Connected to {mask(settings.conn_string)} as '{settings.name}'.")
        self.write(f"Connected to {mask(settings.conn_string)}. Press Run to take work.")

    def _replace_or_cancel(self, store: Store, name: str) -> bool | None:
        """One name, one Scheduler: before connecting, say who holds the name and ask
        whether to replace it. False: the name is free; True: replace; None: cancel.
        (The engine's registration decides again, atomically.)"""
        try:
            holder = store.get_run_holder(name, this_run(), is_running)
        except DATABASE_ERRORS as error:  # the engine's registration tries again
            self.write(f"Could not check who holds the name: {describe_connection_error(error)}")
            return False
        if holder is None or not holder.alive:
            return False
        message = name_in_use(holder, REPLACE_HOW, OTHER_NAME)
        self.status_var.set(f"Not connected: {message}")
        self.write(message)
        question = (
            f"{message}\n\nReplace takes the name over; Cancel leaves that Scheduler alone and "
            "does not connect."
        )
        return True if self.ask_replace("Scheduler name in use", question) else None

    def _ask_replace(self, title: str, message: str) -> bool:
        self.replace_dialog = ReplaceDialog(self.root, title, message)
        try:
            return self.replace_dialog.ask()
        finally:
            self.replace_dialog = None

    def disconnect(self) -> None:
        """Stop the engine and close the connection; refused while processes run."""
        engine = self.engine
        if engine is None:
            return
        if engine.running_jobs:
            self.write(
                f"Cannot disconnect: {len(engine.running_jobs)} process(es) still running. "
                "Pause and wait for them to finish."
            )
            return
        self._stop_engine(0)
        self._lock_inputs(False)
        self.status_var.set("Not connected.")
        self.write("Disconnected.")

    def toggle_run(self) -> None:
        """Run (take work) or Pause (take none, keep watching running processes)."""
        engine = self.engine
        if engine is None:
            self.write("Not connected: connect on the Settings tab first.")
            return
        if engine.state is RunState.PAUSED:
            engine.resume()
        else:
            engine.pause()
        self._refresh_run_button()

    def close(self) -> None:
        """Close the window; asks first when processes are running (they are killed)."""
        engine = self.engine
        if engine is not None and engine.running_jobs:
            count = len(engine.running_jobs)
            if not self.confirm(
                "Processes are running",
                f"{count} process(es) are still running. Close anyway? They will be killed "
                "and their triggers marked KILLED.",
            ):
                return
        self._stop_engine(0)
        self.root.destroy()

    # --- helpers --------------------------------------------------------------------

    def _stop_engine(self, grace: float) -> None:
        if self.engine is not None:
            self.engine.stop(grace)
            if self.thread is not None:
                self.thread.join(30)
            self.flush_output()
        if self.store is not None:
            self.store.close()
        self.engine = None
        self.store = None
        self.thread = None
        self._refresh_run_button()

    def _lock_inputs(self, locked: bool) -> None:
        state = "disabled" if locked else "normal"
        for widget in (
            self.conn_entry,
            self.key_entry,
            self.name_entry,
            self.exclusive_check,
            self.connect_button,
        ):
            widget.configure(state=state)
        self.disconnect_button.configure(state="normal" if locked else "disabled")

    def _refresh_run_button(self) -> None:
        """The button and the state line follow the engine's one state value."""
        state = self.engine.state if self.engine is not None else None
        self.run_button.configure(text="Pause" if state is RunState.RUNNING else "Run")
        self.state_var.set(f"State: {state.value}" if state is not None else "State: not connected")


def _prefill(args: argparse.Namespace) -> tuple[str, str, str | None]:
    """Connection string and key for the inputs: flags, environment, else local mode."""
    conn = getattr(args, "conn", None) or os.environ.get(app_config.ENV_CONN) or ""
    key = getattr(args, "key", None) or os.environ.get(app_config.ENV_KEY) or ""
    if conn or key:
        return conn, key, None
    try:
        local = app_config.local_settings()
    except Exception as error:  # local mode is a convenience: never block the window
        return "", "", f"Local mode is unavailable: {error}"
    return (
        local.conn_string,
        local.crypto_key,
        (f"Nothing configured: local mode ({local.database_path}) is filled in."),
    )


def run_window(args: argparse.Namespace) -> int:
    """Open the window and run the Tk main loop; returns the exit code."""
    try:
        root = tk.Tk()
    except tk.TclError as error:
        print(
            f"openorch scheduler: cannot open a window ({error}). Use "
            "`openorch s --headless` on a machine without a display.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    conn, key, note = _prefill(args)
    try:
        template = settings_from_args(args, conn or "-", key or "-")
    except ValueError as error:
        root.destroy()
        print(f"openorch scheduler: {error}", file=sys.stderr)
        return EXIT_CONFIG
    options = {
        field: getattr(template, field)
        for field in (
            "poll_interval",
            "python",
            "clone_dir",
            "log_dir",
            "grace_period",
            "heartbeat_timeout",
            "keep_logs",
        )
    }
    window = SchedulerWindow(root, conn, key, template.name, template.exclusive, options)
    if getattr(args, "replace", False):  # `openorch s --replace`: replace without asking
        window.ask_replace = lambda _title, _message: True
    if note:
        window.write(note)
    root.mainloop()
    return 0

"""`openorch s --headless`: the engine in the foreground, for servers and services.

Prints what it does on stdout (connection problems on stderr). The first SIGINT or
SIGTERM stops taking work and waits for running processes up to the grace period; a
second one kills them now (they are marked KILLED). Either way it exits 0. A name held
by a live Scheduler makes it exit 3 with a message on stderr (`--replace` takes it).
"""

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from openorch.masking import for_terminal
from openorch.scheduler.config import EXIT_CONFIG, EXIT_NAME_IN_USE, SchedulerSettings
from openorch.scheduler.engine import SchedulerEngine, name_in_use
from openorch.store import ConnectError, Store

EXIT_OK = 0


@contextlib.contextmanager
def stop_signals(on_signal: Callable[[int], None]) -> Iterator[None]:
    """Route SIGINT and SIGTERM (and SIGBREAK on Windows) to `on_signal` while inside.

    The previous handlers come back on exit. Only possible in the main thread; elsewhere
    (an embedding program) nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ["SIGINT", "SIGTERM", "SIGBREAK"]
    numbers = [getattr(signal, name) for name in names if hasattr(signal, name)]

    def handler(number: int, _frame: FrameType | None) -> None:
        on_signal(number)

    previous = {number: signal.signal(number, handler) for number in numbers}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def run_headless(
    settings: SchedulerSettings,
    *,
    local_note: str | None = None,
    create: bool = False,
    replace: bool = False,
) -> int:
    """Connect, run the engine until a signal stops it, and return the exit code.

    `create` (local mode) creates or upgrades the database first; `replace` takes the
    name from a live Scheduler. Returns 2 (with a message on stderr) when the connection
    cannot be made, 3 when a live Scheduler holds the name.
    """
    try:
        store = Store.open(settings.conn_string, settings.crypto_key, create=create)
    except ConnectError as error:
        print(
            f"openorch scheduler: cannot start: {for_terminal(error)}", file=sys.stderr, flush=True
        )
        return EXIT_CONFIG
    for warning in store.open_warnings:
        print(f"Warning: {for_terminal(warning)}", file=sys.stderr, flush=True)
    print(
        f"Database: {for_terminal(settings.conn_string)}"
        + (f" ({local_note})" if local_note else "")
    )
    print(
        f"Scheduler name: {for_terminal(settings.name)}; "
        + ("exclusive mode (only whitelisted triggers); " if settings.exclusive else "")
        + f"interpreter: {settings.python}; grace period: {settings.grace_period:g} s; "
        f"heartbeat timeout: {settings.heartbeat_timeout:g} s",
        flush=True,
    )
    print(f"Clones: {settings.clone_dir}; process output: {settings.log_dir}", flush=True)
    engine = SchedulerEngine(settings, store, replace=replace)
    signals_seen = 0

    def on_signal(number: int) -> None:
        nonlocal signals_seen
        signals_seen += 1
        name = signal.Signals(number).name
        if signals_seen == 1:
            engine.notify(f"{name} received; press Ctrl-C again (or send {name}) to kill now.")
            engine.stop()
        else:
            engine.stop(0)

    try:
        with stop_signals(on_signal):
            engine.run()
    finally:
        store.close()
    if engine.refused_by is not None:
        message = name_in_use(engine.refused_by)
        print(f"openorch scheduler: cannot start: {for_terminal(message)}", file=sys.stderr)
        return EXIT_NAME_IN_USE
    return EXIT_OK

"""Ending a process together with everything it started (browsers, helpers, ...).

psutil walks the tree the same way on Windows and POSIX. On POSIX the process also
leads its own session (the launcher starts it so), which catches grandchildren whose
parent already died and who were re-parented away from the tree.
"""

import contextlib
import os
import signal

import psutil

#: Seconds a process tree gets to exit after a polite terminate before it is killed.
TERMINATE_WAIT = 1.0


def kill_tree(pid: int, terminate_wait: float = TERMINATE_WAIT) -> None:
    """Terminate the process `pid` and all its descendants, then kill what is left.

    Never raises for processes that are already gone.
    """
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        _kill_session(pid)
        return
    try:
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        family = [root]
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            process.terminate()
    _gone, alive = psutil.wait_procs(family, timeout=terminate_wait)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            process.kill()
    psutil.wait_procs(alive, timeout=terminate_wait)
    _kill_session(pid)


def _kill_session(pid: int) -> None:
    """SIGKILL whatever is left in the process group the launcher gave `pid` (POSIX)."""
    if os.name != "posix":
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)

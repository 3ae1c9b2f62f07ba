"""Ending a process together with everything it started (browsers, helpers, ...).

psutil walks the tree the same way on Windows and POSIX. On POSIX the process also
leads its own session (the launcher starts it so), which catches grandchildren whose
parent already died and who were re-parented away from the tree.
"""

import contextlib
import os
import signal
import time

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
    alive = _wait_gone(family, terminate_wait)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            process.kill()
    _wait_gone(alive, terminate_wait)
    _kill_session(pid)


#: How often `_wait_gone` looks again (seconds).
_GONE_POLL = 0.02


def _wait_gone(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait up to `timeout` for `processes` to end; returns those still running.

    A zombie counts as gone: it has ended, and only its parent (for a grandchild
    re-parented to a PID 1 that does not reap, as in many containers, never) collects
    it. psutil.wait_procs waits for zombies that are not our children until the timeout.
    """
    deadline = time.monotonic() + timeout
    alive = [process for process in processes if _alive(process)]
    while alive and time.monotonic() < deadline:
        time.sleep(_GONE_POLL)
        alive = [process for process in alive if _alive(process)]
    return alive


def _kill_session(pid: int) -> None:
    """SIGKILL whatever is left in the process group the launcher gave `pid` (POSIX)."""
    if os.name != "posix":
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


#: Two start times of one process differ by less than this (psutil reads clock ticks);
#: a reused pid has a later start time.
START_TIME_TOLERANCE = 1.0


def start_time(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch, psutil's reading); None when
    it is gone or hidden."""
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def is_running(pid: int) -> bool:
    """Whether process `pid` runs on this machine (a zombie, already dead and waiting for
    its parent to notice, does not): how a Scheduler tells that the run holding its
    name on this host is gone."""
    try:
        return _alive(psutil.Process(pid))
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True  # it exists; another user's process


def _alive(process: psutil.Process) -> bool:
    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def recognised_processes(pid: int, started: float) -> list[psutil.Process]:
    """What is left of the process tree an earlier run started as `pid` at `started`.

    Only processes that can be recognised: `pid` itself when its start time matches (a
    reused pid does not), its descendants, and on POSIX the members of the process group
    it led that started no earlier than it (children re-parented after it died).
    """
    family: dict[int, psutil.Process] = {}
    try:
        root = psutil.Process(pid)
        if abs(root.create_time() - started) <= START_TIME_TOLERANCE and _alive(root):
            family[root.pid] = root
            for child in root.children(recursive=True):
                family[child.pid] = child
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        pass
    if os.name == "posix":
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error, OSError):
                if (
                    process.pid not in family
                    and os.getpgid(process.pid) == pid
                    and process.create_time() >= started - START_TIME_TOLERANCE
                    and _alive(process)
                ):
                    family[process.pid] = process
    return [process for process in family.values() if process.pid != os.getpid()]


def kill_recognised(pid: int, started: float, terminate_wait: float = TERMINATE_WAIT) -> int:
    """Terminate, then kill, what `recognised_processes` finds; returns how many there
    were. Never touches a process it cannot recognise."""
    family = recognised_processes(pid, started)
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            process.terminate()
    alive = _wait_gone(family, terminate_wait)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            process.kill()
    _wait_gone(alive, terminate_wait)
    return len(family)

"""Local mode keeps a save when another process closes the same SQLite file (issue 22).

SQLite coordinates processes with POSIX advisory locks, and closing *any* descriptor of
a file drops every such lock the process holds on it. A process that opened the
database file itself (to read its header, to create it 0600) while holding SQLite
connections to it looked, to the next process that closed the database, like nobody:
that process checkpointed and deleted the -wal and -shm files, and the first one went
on writing into the deleted WAL. Its saves were acknowledged and lost.

The first test replays the issue's sequence with real processes; the second is the
guard: nothing in openorch may open or close the database's files outside SQLite while
a Store is open on them.
"""

import builtins
import io
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openorch import config
from openorch.store import Store
from openorch.store.conn_policy import check_page_connection_string, is_openorch_sqlite

#: Process A: opens a Store, then obeys one command a line, answering "ok" after each.
HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from openorch.store import Store
    from openorch.store.conn_policy import is_openorch_sqlite

    url, key = sys.argv[1], sys.argv[2]
    store = Store.open(url, key, create=True)
    others = []
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "write":
            store.create_constant(argument, argument)
        elif command == "header":
            assert is_openorch_sqlite(Path(url.removeprefix("sqlite:///")))
        elif command == "reopen":  # a page reload: a new tab's store beside the old one
            others.append(Store.open(url, key, create=True))
        elif command == "exit":
            break
        print("ok", flush=True)
    """
)

#: Process B (writes once and closes) and process C (a fresh reader).
WRITE_ONCE = textwrap.dedent(
    """
    import sys
    from openorch.store import Store

    store = Store.open(sys.argv[1], sys.argv[2], create=True)
    store.create_constant(sys.argv[3], sys.argv[3])
    store.close()
    """
)
READ_ALL = textwrap.dedent(
    """
    import sys
    from openorch.store import Store

    store = Store.open(sys.argv[1], sys.argv[2])
    print(" ".join(sorted(c.name for c in store.get_constants())))
    store.close()
    """
)


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class Holder:
    """Process A, holding its connections open between commands."""

    def __init__(self, url: str, key: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, url, key],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def do(self, command: str) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        assert answer == "ok", f"{command!r}: process A answered {answer!r}"

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # end of input: A's loop ends and it exits
            self.process.wait(timeout=20)


@pytest.mark.parametrize("route", ["header", "reopen"])
def test_a_save_survives_another_process_closing_the_database(
    route: str, tmp_path: Path, crypto_key: str
) -> None:
    """A writes; A checks the file (Settings' header check) or opens a second store on
    it (a page reload); B opens, writes and closes; A writes "after": a fresh process C
    must see A's "after"."""
    url = f"sqlite:///{tmp_path / 'openorch.db'}"
    holder = Holder(url, crypto_key)
    try:
        holder.do("write before")
        holder.do(route)
        run(WRITE_ONCE, url, crypto_key, "from_b")
        holder.do("write after")
        seen = run(READ_ALL, url, crypto_key).split()
        assert seen == ["after", "before", "from_b"], f"a fresh process sees only {seen}"
        assert not _deleted_wal(holder.process.pid), "process A writes into a deleted WAL"
    finally:
        holder.stop()


def _deleted_wal(pid: int) -> list[str]:
    """The -wal/-shm files process `pid` holds open although they were deleted."""
    found = []
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.endswith(" (deleted)") and ("-wal" in target or "-shm" in target):
            found.append(target)
    return found


@pytest.fixture
def file_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every open or close made from Python of a file in tmp_path named openorch.db*
    (SQLite's own calls are made in C and are not seen)."""
    calls: list[str] = []
    folder = str(tmp_path)

    def watched(target: object) -> bool:
        try:
            name = os.fsdecode(os.fspath(target))  # type: ignore[arg-type]
        except TypeError:
            return False
        name = os.path.abspath(name)
        return name.startswith(folder) and os.path.basename(name).startswith("openorch.db")

    real_open, real_os_open, real_close = builtins.open, os.open, os.close

    # An open is recorded once it succeeded: an attempt that fails (O_EXCL on an
    # existing file) leaves no descriptor to close.
    def spy_open(file: object, *args: object, **kwargs: object) -> object:
        handle = real_open(file, *args, **kwargs)  # type: ignore[call-overload]
        if watched(file):
            calls.append(f"open({file})")
        return handle

    def spy_os_open(path: object, *args: object, **kwargs: object) -> int:
        descriptor = real_os_open(path, *args, **kwargs)  # type: ignore[arg-type]
        if watched(path):
            calls.append(f"os.open({path})")
        return descriptor

    def spy_close(descriptor: int) -> None:
        try:
            target = os.readlink(f"/proc/self/fd/{descriptor}")
        except OSError:
            target = ""
        if watched(target):
            calls.append(f"os.close({target})")
        real_close(descriptor)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    monkeypatch.setattr(os, "close", spy_close)
    yield calls


def test_nothing_opens_the_database_file_beside_sqlite(
    tmp_path: Path, file_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a Store is open: a second store on the file (page reload, Scheduler in the
    same process), local mode's settings, the Settings tab's check of a typed string and
    the header check open nothing but through SQLite."""
    monkeypatch.setenv(config.ENV_HOME, str(tmp_path / "home"))
    monkeypatch.delenv(config.ENV_CONN, raising=False)
    monkeypatch.delenv(config.ENV_KEY, raising=False)
    settings = config.resolve()  # nothing configured: local mode
    assert settings is not None and settings.local and settings.database_path is not None
    url, key, path = settings.conn_string, settings.crypto_key, settings.database_path
    first = Store.open(url, key, create=True)
    file_calls.clear()  # creating the file (before any connection) may open it
    first.create_constant("one", "1")
    second = Store.open(url, key, create=True)
    second.create_constant("two", "2")
    assert config.resolve() == settings
    assert is_openorch_sqlite(path)
    check_page_connection_string(url)
    second.close()
    first.create_constant("three", "3")
    assert sorted(c.name for c in first.get_constants()) == ["one", "three", "two"]
    first.close()
    assert file_calls == [], f"opened or closed outside SQLite: {file_calls}"


#: A program starting in local mode: waits for the common start time, then opens.
START_AT = textwrap.dedent(
    """
    import sys, time
    from openorch.store import Store

    while time.time() < float(sys.argv[3]):
        time.sleep(0.001)
    Store.open(sys.argv[1], sys.argv[2], create=True).close()
    """
)


def test_programs_starting_together_on_a_new_file_all_open_it(
    tmp_path: Path, crypto_key: str
) -> None:
    """`openorch o` and Schedulers started at once on a first run: each creates the
    tables if missing; the others wait for the first instead of failing with "database
    is locked"."""
    url = f"sqlite:///{tmp_path / 'openorch.db'}"
    start = f"{time.time() + 4:.3f}"  # every interpreter has started by then
    programs = [
        subprocess.Popen(
            [sys.executable, "-c", START_AT, url, crypto_key, start],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    failures = [
        errors
        for program in programs
        if (errors := program.communicate(timeout=60)[1]) and program.returncode
    ]
    assert not failures, failures[0]
    store = Store.open(url, crypto_key)
    try:
        assert store.check_database_revision()
    finally:
        store.close()

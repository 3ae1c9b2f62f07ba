"""A throwaway PostgreSQL cluster for tests and benchmarks.

Starts `initdb` + `pg_ctl` in a temp folder on a free 127.0.0.1 port (as the `postgres`
user when running as root, since the server refuses root), and removes it on stop.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

PG_BIN_CANDIDATES = [
    Path(os.environ.get("OPENORCH_PG_BIN", "/usr/lib/postgresql/15/bin")),
    *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True),
]


def find_pg_bin() -> Path | None:
    """The folder with initdb and pg_ctl, or None when PostgreSQL is not installed."""
    for candidate in PG_BIN_CANDIDATES:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """A private PostgreSQL server; `url(db)` gives a psycopg URL for a database on it."""

    def __init__(self, pg_bin: Path) -> None:
        self.pg_bin = pg_bin
        self.root = Path(tempfile.mkdtemp(prefix="openorch-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, cwd="/", capture_output=True, timeout=120)

    def start(self) -> "PgCluster":
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            str(self.pg_bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        self._pg_ctl_start()
        return self

    def _pg_ctl_start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.pg_bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        )

    def stop_server(self) -> None:
        """Stop the server but keep its data (for outage tests); `resume()` restarts it."""
        self._run(str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start a server stopped by `stop_server()` on the same port."""
        self._pg_ctl_start()

    def stop(self) -> None:
        try:
            self.stop_server()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def server_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@contextlib.contextmanager
def server_or_throwaway(server_url: str | None) -> Iterator[str]:
    """`server_url` when given (a benchmark's `--pg-url`), else a throwaway cluster's,
    stopped and removed afterwards."""
    if server_url is not None:
        yield server_url
        return
    pg_bin = find_pg_bin()
    if pg_bin is None:
        raise SystemExit("PostgreSQL server binaries not found; pass --pg-url.")
    cluster = PgCluster(pg_bin).start()
    try:
        yield cluster.server_url
    finally:
        cluster.stop()


def create_database(server_url: str, prefix: str = "t", template: str | None = None) -> str:
    """Create a fresh database on the server of `server_url`; returns its URL. With
    `template`, the new database is a copy of that one (PostgreSQL copies the files,
    far faster than migrating again); nothing may be connected to the template."""
    url = sa.make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(database_url: str) -> None:
    """Drop a database made by `create_database`, ending its connections first."""
    url = sa.make_url(database_url)
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    engine.dispose()

"""Fixtures shared by every test: databases on SQLite and a throwaway PostgreSQL.

`db_url` is parametrized over both backends, so every data-layer test runs twice. In CI
`OPENORCH_REQUIRE_ALL=1` turns a missing PostgreSQL, browser or display into a failure.
`OPENORCH_TEST_PG=postgresql+psycopg://...` points at a developer's own server instead.

The suite runs in parallel under pytest-xdist (`-n 4`, see README): each worker is its own
process with its own session fixtures (one PostgreSQL cluster per worker), its own
`tmp_path` root and its own OPENORCH_HOME (`pytest_configure` below).
"""

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from openorch.crypto import generate_key
from openorch.store import Store
from support.databases import migrated, missing
from support.pgcluster import PgCluster, create_database, drop_database, find_pg_bin
from support.receivers import SMTP_LOGIN, SmtpSink, WebhookSink


def pytest_configure(config: pytest.Config) -> None:
    """Group costly modules on one xdist worker (support/xdist_groups.py). Under xdist,
    give each worker its own OPENORCH_HOME (a subfolder of the one CI sets,
    or a new temp folder): local mode's database and key file would otherwise be shared
    by every worker's subprocesses at once."""
    if config.pluginmanager.hasplugin("xdist") and not config.pluginmanager.hasplugin(
        "openorch_xdist_groups"
    ):
        from support import xdist_groups

        config.pluginmanager.register(xdist_groups, "openorch_xdist_groups")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    base = os.environ.get("OPENORCH_HOME")
    if base:
        home = Path(base) / f"xdist-{worker}"
        home.mkdir(parents=True, exist_ok=True)
    else:
        home = Path(tempfile.mkdtemp(prefix=f"openorch-home-{worker}-"))
    os.environ["OPENORCH_HOME"] = str(home)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of the PostgreSQL server's maintenance database (started once per run)."""
    own = os.environ.get("OPENORCH_TEST_PG")
    if own:
        yield own
        return
    pg_bin = find_pg_bin()
    if pg_bin is None:
        missing("PostgreSQL (initdb/pg_ctl)")
    cluster = PgCluster(pg_bin).start()  # type: ignore[arg-type]
    print(f"\n[openorch tests] throwaway PostgreSQL on port {cluster.port}", file=sys.stderr)
    try:
        yield cluster.server_url
    finally:
        cluster.stop()


#: What `on_postgres` writes into a test's report, for the run's summary line.
ON_POSTGRES = ("database", "postgresql")


@pytest.fixture
def on_postgres(request: pytest.FixtureRequest) -> None:
    """Marks the running test as one that really used PostgreSQL (every fixture that
    hands out a PostgreSQL database requests it), so the summary counts what ran, not
    test names."""
    if ON_POSTGRES not in request.node.user_properties:
        request.node.user_properties.append(ON_POSTGRES)


@pytest.fixture
def pg_empty_url(pg_server: str, on_postgres: None) -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped after the test."""
    url = create_database(pg_server)
    yield url
    drop_database(url)


@pytest.fixture
def sqlite_empty_url(tmp_path: Path) -> str:
    """A new, empty SQLite file."""
    return f"sqlite:///{tmp_path / 'orchestrator.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend."""
    name = "sqlite_empty_url" if request.param == "sqlite" else "pg_empty_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def db_url(empty_url: str) -> str:
    """A database on each backend, migrated to openorch's newest revision."""
    return migrated(empty_url)


@pytest.fixture
def sqlite_db_url(sqlite_empty_url: str) -> str:
    """A SQLite database at the newest revision (for tests that need only one backend)."""
    return migrated(sqlite_empty_url)


@pytest.fixture
def pg_db_url(pg_empty_url: str) -> str:
    """A PostgreSQL database at the newest revision."""
    return migrated(pg_empty_url)


@pytest.fixture
def own_pg(on_postgres: None) -> Iterator[PgCluster]:
    """A private PostgreSQL server the test may stop and start (outage tests)."""
    pg_bin = find_pg_bin()
    if pg_bin is None:
        missing("PostgreSQL (initdb/pg_ctl)")
    cluster = PgCluster(pg_bin).start()  # type: ignore[arg-type]
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def crypto_key() -> str:
    """One Fernet key for the run."""
    return generate_key().decode()


@pytest.fixture
def store(db_url: str, crypto_key: str) -> Iterator[Store]:
    """A data layer on each backend. Fails the test if a pooled connection leaks."""
    opened = Store(db_url, crypto_key=crypto_key)
    yield opened
    checked_out = opened.engine.pool.checkedout()  # type: ignore[attr-defined]
    opened.close()
    assert checked_out == 0, f"{checked_out} pooled connection(s) left checked out"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) that accepts the login SMTP_LOGIN and keeps mail."""
    sink = SmtpSink(login=SMTP_LOGIN).start()
    yield sink
    sink.stop()


@pytest.fixture
def hook() -> Iterator[WebhookSink]:
    """A real HTTP server that records every webhook call."""
    sink = WebhookSink()
    yield sink
    sink.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many tests ran on PostgreSQL, so a CI log proves they were not skipped:
    those whose report carries `on_postgres`'s mark (set when a PostgreSQL database was
    really handed out), not those whose name mentions it."""
    passed = terminalreporter.stats.get("passed", [])
    on_postgres = [
        report for report in passed if ON_POSTGRES in getattr(report, "user_properties", ())
    ]
    terminalreporter.write_line(
        f"openorch: {len(on_postgres)} PostgreSQL tests passed "
        f"(OPENORCH_REQUIRE_ALL={os.environ.get('OPENORCH_REQUIRE_ALL', '0')})"
    )

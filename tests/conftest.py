"""Fixtures shared by every test: databases on SQLite and a throwaway PostgreSQL.

`db_url` is parametrized over both backends, so every data-layer test runs twice. Each
backend is migrated once per session (per xdist worker) into a template, and every test
gets a copy of it: a file copy on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL
(running the whole migration chain per test was most of the suite's database time). In CI
`OPENORCH_REQUIRE_ALL=1` turns a missing PostgreSQL, browser or display into a failure.
`OPENORCH_TEST_PG=postgresql+psycopg://...` points at a developer's own server instead.

The suite runs in parallel under pytest-xdist (`-n 4`, see README): each worker is its own
process with its own session fixtures (one PostgreSQL cluster per worker), its own
`tmp_path` root and its own OPENORCH_HOME (`pytest_configure` below).
"""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from openorch.crypto import generate_key
from openorch.database import load_all_models
from openorch.store import Store
from support.databases import migrated, missing
from support.pgcluster import (
    PgCluster,
    create_database,
    drop_database,
    find_pg_bin,
)
from support.receivers import SMTP_LOGIN, SmtpSink, WebhookSink

# Tests compare and dump whole schemas through `Base.metadata`: every table, always.
load_all_models()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--all",
        action="store_true",
        help="also run the tests marked slow (long fault, soak and browser tests), as CI "
        "does; without it a run of the whole suite leaves them out",
    )
    parser.addoption(
        "--record-durations",
        action="store_true",
        help="rewrite tests/support/test_durations.json, which xdist uses to start the "
        "longest tests first (support/xdist_groups.py)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Group costly modules on one xdist worker and start the longest tests first
    (support/xdist_groups.py). Under xdist,
    give each worker its own OPENORCH_HOME (a subfolder of the one CI sets,
    or a new temp folder): local mode's database and key file would otherwise be shared
    by every worker's subprocesses at once."""
    from support import xdist_groups

    if config.pluginmanager.hasplugin("xdist") and not config.pluginmanager.hasplugin(
        "openorch_xdist_groups"
    ):
        config.pluginmanager.register(xdist_groups, "openorch_xdist_groups")
    if config.getoption("record_durations") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(xdist_groups.DurationRecorder(), "openorch_durations")
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
def empty_backend(request: pytest.FixtureRequest) -> str:
    """The backend a test parametrized over both runs on: "sqlite" or "postgresql"."""
    return str(request.param)


@pytest.fixture
def empty_url(request: pytest.FixtureRequest, empty_backend: str) -> str:
    """An empty database on each backend."""
    name = "sqlite_empty_url" if empty_backend == "sqlite" else "pg_empty_url"
    return str(request.getfixturevalue(name))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the newest revision once per session (per xdist worker);
    each test gets a copy of it (`sqlite_db_url`) instead of running every migration."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrated(f"sqlite:///{path}")
    # The engine is disposed: SQLite checkpointed the WAL into the file and removed it,
    # so the one file is the whole database.
    assert not path.with_name(path.name + "-wal").exists(), "template WAL not checkpointed"
    return path


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    """Name of a PostgreSQL database migrated once per session, the template every
    `pg_db_url` is cloned from (`CREATE DATABASE ... TEMPLATE`, as procrastinate's tests
    do). Nothing stays connected to it, which PostgreSQL requires of a template."""
    url = migrated(create_database(pg_server, prefix="template"))
    yield str(sa.make_url(url).database)
    drop_database(url)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, empty_backend: str) -> str:
    """A database on each backend at openorch's newest revision (a copy of the
    session's migrated template)."""
    name = "sqlite_db_url" if empty_backend == "sqlite" else "pg_db_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def sqlite_db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A SQLite database at the newest revision (for tests that need only one backend):
    a file copy of the session's template, at the path `sqlite_empty_url` would use."""
    path = tmp_path / "orchestrator.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def pg_db_url(pg_server: str, pg_template: str, on_postgres: None) -> Iterator[str]:
    """A PostgreSQL database at the newest revision, cloned from the session's template;
    dropped after the test."""
    url = create_database(pg_server, template=pg_template)
    yield url
    drop_database(url)


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


#: The slow tests a run left out (`pytest_collection_modifyitems`), for the summary.
_LEFT_OUT: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The everyday run (`python -m pytest -n 4`, no paths) leaves out the tests marked
    `slow`: the long fault, soak and browser tests that make most of the suite's time.
    `--all` runs them (CI does), and so does naming their files or choosing by `-m`."""
    explicit = config.args_source != pytest.Config.ArgsSource.TESTPATHS
    if config.getoption("all") or config.getoption("markexpr") or explicit:
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
        _LEFT_OUT[:] = [item.nodeid for item in slow]


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
    if _LEFT_OUT:
        terminalreporter.write_line(
            f"openorch: {len(_LEFT_OUT)} slow tests left out (long fault, soak and browser "
            "tests): `python -m pytest -n 4 --all` runs them too, as CI does"
        )

"""`store/ops/copying.py` on real databases: a SQLite database with data of every kind copied
into PostgreSQL (and SQLite) row for row, ids, times and encrypted values unchanged; the
targets it accepts (new, freshly upgraded, empty at an older revision); and everything it
refuses, with the target left exactly as it was."""

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from openorch import migrate
from openorch.database import Base
from openorch.store import HEAD_REVISION, ORIGINAL_HEAD_REVISION, Store, build_engine
from openorch.store.ops.copying import CopyFailed, CopyRefused, Progress, copy_database
from support.databases import migrated
from support.dump import dump_tables
from support.every_kind import fill_every_table


def rows_of(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every model table, typed (UUIDs, datetimes, enums), in key order."""
    engine = build_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        sa.select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@pytest.fixture
def source(sqlite_db_url: str, crypto_key: str) -> tuple[str, Any]:
    """A SQLite database at head holding data of every kind."""
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    filled = fill_every_table(store)
    store.close()
    return sqlite_db_url, filled


@pytest.mark.postgres
def test_every_row_reaches_postgresql_unchanged_and_comes_back(
    source: tuple[str, Any], pg_empty_url: str, crypto_key: str, tmp_path: Path
) -> None:
    source_url, filled = source
    seen: list[Progress] = []
    notes: list[str] = []
    result = copy_database(
        source_url, pg_empty_url, batch_size=2, on_progress=seen.append, on_note=notes.append
    )

    assert result.prepared == "created" and not result.mismatches
    assert {count.table for count in result.counts} == set(Base.metadata.tables)
    empty = [count.table for count in result.counts if count.source == 0]
    assert not empty, f"fill_every_table leaves these tables empty: {empty}"
    assert any("Creating the openorch tables" in note for note in notes)
    # Batches of 2: a table of 5 rows is reported at 2, 4 and 5; the total only grows.
    assert [p.table_done for p in seen if p.table == "Queues"] == [0, 2, 4, 5]
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert seen[-1].done == seen[-1].total == result.rows

    before, after = rows_of(source_url), rows_of(pg_empty_url)
    for table in before:
        assert after[table] == before[table], table
    copied = Store(pg_empty_url, crypto_key=crypto_key)
    try:
        assert copied.revisions().openorch == HEAD_REVISION
        assert copied.revisions().original == ORIGINAL_HEAD_REVISION
        assert copied.get_credential("mail").password == filled.password
        assert copied.key_matches()
        assert copied.authenticate_api_token(filled.token_secret) is not None
        assert copied.get_job(filled.job_id).trigger_id is not None
        run = copied.get_pipeline_run(filled.element_id)
        assert run is not None and run.step == "second" and '"doubled": 4' in run.state
        # The Orchestrator's screens read it as they read local mode's file.
        hook = copied.get_alert_channel("hook", decrypt=True)
        assert hook.webhook_url == "http://127.0.0.1:9/h/TOKEN"
        overview = copied.get_overview()
        assert overview.errors_24h == 2 and overview.open_alerts == 1
        assert {queue.queue_name for queue in copied.get_queue_overview()} >= {"outbox", "bulk"}
        health = {one.scheduler.machine_name: one for one in copied.get_scheduler_health()}
        assert health["vm1"].scheduler.engine_state == "running"
        assert copied.get_pipeline_view(filled.element_id) is not None
    finally:
        copied.close()

    # And back again (PostgreSQL read in one snapshot, streamed): the same rows (the
    # token's last use, recorded just above, included).
    back = f"sqlite:///{tmp_path / 'back.db'}"
    assert not copy_database(pg_empty_url, back, batch_size=3).mismatches
    assert rows_of(back) == rows_of(pg_empty_url)


def test_sqlite_to_sqlite_and_the_new_file_is_private(
    source: tuple[str, Any], tmp_path: Path, crypto_key: str
) -> None:
    source_url, filled = source
    target = tmp_path / "moved.db"
    result = copy_database(source_url, f"sqlite:///{target}")
    assert result.prepared == "created" and not result.mismatches and result.rows > 30
    assert rows_of(f"sqlite:///{target}") == rows_of(source_url)
    assert target.stat().st_mode & 0o077 == 0
    copied = Store(f"sqlite:///{target}", crypto_key=crypto_key)
    assert copied.get_credential("mail").password == filled.password
    copied.close()


@pytest.mark.postgres
def test_a_freshly_upgraded_target_is_used_as_it_is(
    source: tuple[str, Any], pg_db_url: str
) -> None:
    result = copy_database(source[0], pg_db_url)
    assert result.prepared == "ready" and not result.mismatches


def test_an_empty_target_at_an_older_revision_is_upgraded(
    source: tuple[str, Any], tmp_path: Path
) -> None:
    target = f"sqlite:///{tmp_path / 'original.db'}"
    engine = build_engine(target)
    migrate.upgrade(engine, ORIGINAL_HEAD_REVISION)  # as OpenOrchestrator 3.0.0 made it
    engine.dispose()
    result = copy_database(source[0], target)
    assert result.prepared == "upgraded" and not result.mismatches
    assert rows_of(target) == rows_of(source[0])


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_target_with_rows_is_refused_and_left_unchanged(
    source: tuple[str, Any],
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    crypto_key: str,
) -> None:
    empty = (
        request.getfixturevalue("pg_empty_url")
        if backend == "postgresql"
        else f"sqlite:///{tmp_path / 'target.db'}"
    )
    target = migrated(empty)
    store = Store(target, crypto_key=crypto_key)
    store.create_constant("already here", "1")
    store.create_log("p", "INFO", None, "one log")
    store.close()
    before = dump_tables(target)

    with pytest.raises(CopyRefused) as refused:
        copy_database(source[0], target)

    message = str(refused.value)
    assert "is not empty" in message and "Nothing was changed" in message
    assert "Constants (1 row)" in message and "Logs (1 row)" in message
    assert dump_tables(target) == before


def test_a_target_with_tables_but_no_revision_is_refused(
    source: tuple[str, Any], tmp_path: Path
) -> None:
    target = f"sqlite:///{tmp_path / 'bare.db'}"
    engine = build_engine(target)
    Base.metadata.create_all(engine)
    engine.dispose()
    before = dump_tables(target)
    with pytest.raises(CopyRefused, match="no revision"):
        copy_database(source[0], target)
    assert dump_tables(target) == before


def _older(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'older.db'}"
    engine = build_engine(url)
    migrate.upgrade(engine, ORIGINAL_HEAD_REVISION)
    engine.dispose()
    return url


def _garbage(tmp_path: Path) -> str:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database file at all" * 100)
    return f"sqlite:///{path}"


def _no_tables(tmp_path: Path) -> str:
    engine = build_engine(f"sqlite:///{tmp_path / 'blank.db'}")
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    engine.dispose()
    return f"sqlite:///{tmp_path / 'blank.db'}"


@pytest.mark.parametrize(
    ("make_source", "expected"),
    [
        (lambda tmp: f"sqlite:///{tmp / 'missing.db'}", "there is no file"),
        (_garbage, "file is not a database"),
        (_no_tables, "has no openorch tables"),
        (_older, f"older than this openorch's ({HEAD_REVISION})"),
        (lambda _tmp: "not a url", "SOURCE: Malformed connection string"),
        (lambda _tmp: "postgresql+psycopg://u:Secr3t@127.0.0.1:1/db", "unreachable"),
    ],
    ids=["missing", "garbage", "no-tables", "older", "malformed", "unreachable"],
)
def test_a_bad_source_is_refused_and_no_target_is_made(
    tmp_path: Path, make_source: Any, expected: str
) -> None:
    target = tmp_path / "never.db"
    with pytest.raises(CopyRefused) as refused:
        copy_database(make_source(tmp_path), f"sqlite:///{target}")
    assert expected in str(refused.value)
    assert "Secr3t" not in str(refused.value)
    assert not target.exists()
    if expected.startswith("older"):
        assert 'openorch upgrade "sqlite:///' in str(refused.value)


def test_the_same_database_twice_is_refused(source: tuple[str, Any], tmp_path: Path) -> None:
    path = Path(sa.make_url(source[0]).database or "")
    before = dump_tables(source[0])
    roundabout = f"sqlite:///{path.parent}/../{path.parent.name}/{path.name}"
    with pytest.raises(CopyRefused, match="the same database"):
        copy_database(source[0], roundabout)
    assert dump_tables(source[0]) == before


def test_an_unreachable_target_is_refused_masked(source: tuple[str, Any]) -> None:
    with pytest.raises(CopyRefused) as refused:
        copy_database(source[0], "postgresql+psycopg://rpa:Secr3t@127.0.0.1:1/orchestrator")
    assert "unreachable" in str(refused.value) and "rpa:***@" in str(refused.value)
    assert "Secr3t" not in str(refused.value)


def test_a_failure_half_way_leaves_no_row_in_the_target(
    source: tuple[str, Any], tmp_path: Path
) -> None:
    target = f"sqlite:///{tmp_path / 'half.db'}"

    def stop_in_queues(progress: Progress) -> None:
        if progress.table == "Queues" and progress.table_done > 0:
            raise sa.exc.OperationalError("INSERT", {}, Exception("disk full (simulated)"))

    with pytest.raises(CopyFailed, match=r"no row was kept.*disk full"):
        copy_database(source[0], target, batch_size=2, on_progress=stop_in_queues)
    assert all(not rows for rows in rows_of(target).values())
    # The target is now a valid, empty database at head: running again works.
    result = copy_database(source[0], target)
    assert result.prepared == "ready" and not result.mismatches
    assert rows_of(target) == rows_of(source[0])


def test_schedulers_still_alive_in_the_source_are_named(
    source: tuple[str, Any], tmp_path: Path
) -> None:
    """A warning, not a refusal: a Scheduler killed a minute ago still looks alive."""
    notes: list[str] = []
    copy_database(source[0], f"sqlite:///{tmp_path / 'one.db'}", on_note=notes.append)
    assert any("Scheduler(s) old-machine, vm1 sent a heartbeat" in note for note in notes)

    store = Store(source[0])
    store.set_engine_state("vm1", source[1].run_id, "stopped")  # as a clean stop leaves it
    store.close()
    notes.clear()
    copy_database(source[0], f"sqlite:///{tmp_path / 'two.db'}", on_note=notes.append)
    assert any("Scheduler(s) old-machine sent a heartbeat" in note for note in notes), notes

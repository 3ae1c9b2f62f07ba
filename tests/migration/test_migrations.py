"""Migrations: empty → head equals the models; old revisions with rows upgrade and keep
them; a legacy (unversioned) database is stamped and upgraded; `openorch upgrade` CLI."""

import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from openorch import migrate
from openorch.database import Base, JobStatus, QueueStatus, TriggerStatus
from openorch.store import HEAD_REVISION, ORIGINAL_HEAD_REVISION, Store, build_engine
from openorch.store.queues.derived import is_derived
from openorch.upgrade import run_upgrade

ORIGINAL_CHAIN = ["b67b7649b282", "526b6edac328", "90d46abd44a3", "9698388a0709", "1c87ed320c78"]


def test_chain_starts_with_the_originals_revisions() -> None:
    chain = migrate.revision_chain()
    assert chain[:5] == ORIGINAL_CHAIN
    assert chain[-1] == HEAD_REVISION
    assert ORIGINAL_CHAIN[-1] == ORIGINAL_HEAD_REVISION


def test_empty_to_head_matches_the_models(empty_url: str) -> None:
    engine = build_engine(empty_url)
    migrate.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parents: (
                    not (kind == "table" and name in ("alembic_version", "openorch_version"))
                    and not is_derived(name, kind)
                ),
            },
        )
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_enums_are_plain_strings_holding_member_names(db_url: str) -> None:
    store = Store(db_url)
    trigger_id = store.create_queue_trigger("t", "p", "q", "p.py", "", False, True, 1, 0)
    store.create_queue_element("q", "r")
    store.get_next_queue_element("q")
    with store.engine.connect() as connection:
        assert connection.execute(sa.text('SELECT status FROM "Queues"')).scalar() == "IN_PROGRESS"
        row = connection.execute(sa.text('SELECT process_status, type FROM "Triggers"')).one()
        assert tuple(row) == ("IDLE", "QUEUE")
        if store.dialect == "postgresql":
            enum_types = connection.execute(
                sa.text("SELECT count(*) FROM pg_type WHERE typtype = 'e'")
            )
            assert enum_types.scalar() == 0
    assert store.get_trigger(trigger_id).process_status == TriggerStatus.IDLE
    store.close()


def _fill_at_initial_revision(connection: sa.Connection) -> dict[str, int]:
    """Rows as the original wrote them at revision b67b7649b282."""
    now = datetime(2024, 5, 1, 8, 30)
    trigger_id = uuid.uuid4()
    uuid_type = sa.Uuid()
    triggers = sa.table(
        "Triggers",
        sa.column("id", uuid_type),
        sa.column("trigger_name"),
        sa.column("process_name"),
        sa.column("last_run"),
        sa.column("process_path"),
        sa.column("process_args"),
        sa.column("process_status"),
        sa.column("is_git_repo", sa.Boolean),
        sa.column("is_blocking", sa.Boolean),
        sa.column("type"),
    )
    connection.execute(
        triggers.insert().values(
            id=trigger_id,
            trigger_name="nightly",
            process_name="invoice",
            last_run=None,
            process_path="C:/robots/invoice.py",
            process_args="--fast",
            process_status="IDLE",
            is_git_repo=False,
            is_blocking=True,
            type="SCHEDULED",
        )
    )
    scheduled = sa.table(
        "Scheduled_Triggers",
        sa.column("id", uuid_type),
        sa.column("cron_expr"),
        sa.column("next_run"),
    )
    connection.execute(
        scheduled.insert().values(id=trigger_id, cron_expr="0 7 * * *", next_run=now)
    )
    queues = sa.table(
        "Queues",
        sa.column("id", uuid_type),
        sa.column("queue_name"),
        sa.column("status"),
        sa.column("data"),
        sa.column("reference"),
        sa.column("created_date"),
    )
    connection.execute(
        queues.insert(),
        [
            {
                "id": uuid.uuid4(),
                "queue_name": "invoices",
                "status": status,
                "data": "{}",
                "reference": f"r{i}",
                "created_date": now,
            }
            for i, status in enumerate(["NEW", "DONE", "IN_PROGRESS"])
        ],
    )
    logs = sa.table(
        "Logs",
        sa.column("id", uuid_type),
        sa.column("log_time"),
        sa.column("log_level"),
        sa.column("process_name"),
        sa.column("log_message"),
    )
    connection.execute(
        logs.insert().values(
            id=uuid.uuid4(),
            log_time=now,
            log_level="INFO",
            process_name="invoice",
            log_message="hello",
        )
    )
    constants = sa.table(
        "Constants", sa.column("name"), sa.column("value"), sa.column("changed_at")
    )
    connection.execute(constants.insert().values(name="url", value="https://x", changed_at=now))
    credentials = sa.table(
        "Credentials",
        sa.column("name"),
        sa.column("username"),
        sa.column("password"),
        sa.column("changed_at"),
    )
    connection.execute(
        credentials.insert().values(
            name="sap", username="u", password="gAAAA-token", changed_at=now
        )
    )
    return {
        "Triggers": 1,
        "Scheduled_Triggers": 1,
        "Queues": 3,
        "Logs": 1,
        "Constants": 1,
        "Credentials": 1,
    }


def _assert_rows_survived(url: str, expected: dict[str, int]) -> None:
    store = Store(url)
    assert store.current_revision() == HEAD_REVISION
    with store.engine.connect() as connection:
        for table, count in expected.items():
            assert (
                connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar() == count
            ), table
    (trigger,) = store.get_all_triggers()
    assert (
        trigger.trigger_name,
        trigger.priority,
        trigger.scheduler_whitelist,
        trigger.git_branch,
    ) == ("nightly", 0, None, None)
    assert trigger.process_args == "--fast"
    counts = store.get_queue_count()["invoices"]
    assert (counts[QueueStatus.NEW], counts[QueueStatus.DONE], counts[QueueStatus.IN_PROGRESS]) == (
        1,
        1,
        1,
    )
    (log,) = store.get_logs()
    assert log.job_id is None and log.log_message == "hello"
    assert store.get_constant("url").value == "https://x"
    # The new columns work on the old rows.
    job = store.start_job("invoice", "RPA01", trigger.id)
    assert store.get_job(job.id).status == JobStatus.RUNNING
    store.close()


def test_initial_revision_with_rows_upgrades_and_keeps_them(empty_url: str) -> None:
    engine = build_engine(empty_url)
    migrate.upgrade(engine, "b67b7649b282")
    with engine.begin() as connection:
        expected = _fill_at_initial_revision(connection)
    migrate.upgrade(engine)
    engine.dispose()
    _assert_rows_survived(empty_url, expected)


def test_original_head_database_upgrades_and_keeps_rows(empty_url: str) -> None:
    engine = build_engine(empty_url)
    migrate.upgrade(engine, ORIGINAL_HEAD_REVISION)
    with engine.begin() as connection:
        expected = _fill_at_initial_revision(connection)
        jobs = sa.table(
            "Jobs",
            sa.column("id", sa.Uuid()),
            sa.column("process_name"),
            sa.column("scheduler_name"),
            sa.column("start_time"),
            sa.column("status"),
        )
        connection.execute(
            jobs.insert().values(
                id=uuid.uuid4(),
                process_name="invoice",
                scheduler_name="RPA01",
                start_time=datetime(2024, 5, 1),
                status="DONE",
            )
        )
        expected["Jobs"] = 1
    engine.dispose()
    assert run_upgrade(empty_url, yes=True) == 0
    _assert_rows_survived(empty_url, expected)


def test_legacy_database_without_revision_is_stamped_then_upgraded(
    empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = build_engine(empty_url)
    migrate.upgrade(engine, "b67b7649b282")
    with engine.begin() as connection:
        expected = _fill_at_initial_revision(connection)
        connection.execute(sa.text("DROP TABLE alembic_version"))
    engine.dispose()
    answers = iter(["legacy", "y"])
    assert run_upgrade(empty_url, ask=lambda _prompt: next(answers)) == 0
    out = capsys.readouterr().out
    assert "Revision before: none" in out and f"Revision after: {HEAD_REVISION}" in out
    _assert_rows_survived(empty_url, expected)


def test_unversioned_database_of_a_later_shape_is_detected(sqlite_empty_url: str) -> None:
    engine = build_engine(sqlite_empty_url)
    migrate.upgrade(engine, "9698388a0709")
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE alembic_version"))
    assert migrate.detect_revision(engine) == "9698388a0709"
    engine.dispose()
    assert run_upgrade(sqlite_empty_url, yes=True) == 0
    store = Store(sqlite_empty_url)
    assert store.current_revision() == HEAD_REVISION
    store.close()


def test_declining_changes_nothing(sqlite_empty_url: str) -> None:
    assert run_upgrade(sqlite_empty_url, ask=lambda _prompt: "n") == 1
    engine = build_engine(sqlite_empty_url)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()


def test_downgrade_of_openorch_revision_returns_to_the_original(sqlite_empty_url: str) -> None:
    from alembic import command

    engine = build_engine(sqlite_empty_url)
    migrate.upgrade(engine)
    with engine.begin() as connection:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert migrate.current_revision(engine) == ORIGINAL_HEAD_REVISION
    assert migrate.revisions(engine).openorch is None
    assert "trigger_id" not in {c["name"] for c in sa.inspect(engine).get_columns("Jobs")}
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == HEAD_REVISION
    engine.dispose()


#: The openorch revision databases upgraded before the split hold in alembic_version.
OLD_LAYOUT_REVISION = "a3f1c0de0001"


def _original_check_database_revision(engine: sa.Engine) -> bool:
    """The original 3.0.0's `db_util.check_database_revision()`, statement for statement."""
    with engine.connect() as connection:
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return version == "1c87ed320c78"


def test_head_keeps_the_originals_revision_in_alembic_version(empty_url: str) -> None:
    engine = build_engine(empty_url)
    migrate.upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        ours = connection.execute(sa.text("SELECT version_num FROM openorch_version")).all()
    assert [tuple(row) for row in rows] == [(ORIGINAL_HEAD_REVISION,)]
    assert [tuple(row) for row in ours] == [(HEAD_REVISION,)]
    assert _original_check_database_revision(engine)
    store = Store(engine)
    assert store.check_database_revision() and store.current_revision() == HEAD_REVISION
    engine.dispose()


def test_database_from_before_the_split_moves_over(empty_url: str) -> None:
    """openorch used to write its revision into alembic_version; upgrade moves it."""
    engine = build_engine(empty_url)
    migrate.upgrade(engine, OLD_LAYOUT_REVISION)  # what an earlier openorch left
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE openorch_version"))
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'a3f1c0de0001'"))
    found = migrate.revisions(engine)
    assert found.old_layout and found.current == "a3f1c0de0001"
    assert not Store(engine).check_database_revision()
    assert not _original_check_database_revision(engine)
    assert run_upgrade(empty_url, yes=True) == 0
    found = migrate.revisions(engine)
    assert (found.original, found.openorch, found.old_layout) == (
        ORIGINAL_HEAD_REVISION,
        HEAD_REVISION,
        False,
    )
    assert _original_check_database_revision(engine)
    # Jobs.trigger_id (a3f1c0de0001's column) was not added twice; the schema is intact.
    assert "trigger_id" in {c["name"] for c in sa.inspect(engine).get_columns("Jobs")}
    engine.dispose()


def test_local_mode_moves_an_old_layout_database(sqlite_empty_url: str) -> None:
    engine = build_engine(sqlite_empty_url)
    migrate.upgrade(engine, OLD_LAYOUT_REVISION)  # what an earlier openorch left
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE openorch_version"))
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'a3f1c0de0001'"))
    assert migrate.ensure_current(engine) is True
    assert migrate.ensure_current(engine) is False
    assert migrate.revisions(engine).openorch == HEAD_REVISION
    assert _original_check_database_revision(engine)
    engine.dispose()


def test_openorch_chain_is_its_own_line_after_the_originals() -> None:
    """A new openorch migration chains after openorch's head, never after the original's."""
    from alembic.script import ScriptDirectory

    ours = ScriptDirectory.from_config(migrate.alembic_config(migrate.OPENORCH))
    theirs = ScriptDirectory.from_config(migrate.alembic_config(migrate.ORIGINAL))
    assert ours.get_heads() == [HEAD_REVISION]
    assert theirs.get_heads() == [ORIGINAL_HEAD_REVISION]
    assert [s.revision for s in theirs.walk_revisions()][::-1] == ORIGINAL_CHAIN


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # Only the package under test on the path (not tests/, so nothing shadows it).
    import openorch

    env = {**os.environ, "PYTHONPATH": str(Path(openorch.__file__).resolve().parents[1])}
    return subprocess.run(
        [sys.executable, "-m", "openorch", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_upgrade_new_from_another_folder(tmp_path: Path, empty_url: str) -> None:
    result = _cli("upgrade", empty_url, "--new", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Revision before: none" in result.stdout
    assert f"Revision after: {HEAD_REVISION}" in result.stdout
    again = _cli("u", empty_url, "-n", cwd=tmp_path)
    assert again.returncode == 0 and "nothing to do" in again.stdout


@pytest.mark.parametrize(
    ("conn", "words"),
    [
        ("not a url", "Malformed connection string"),
        ("nosuchdb://x/y", "Unknown database dialect"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/x", "unreachable"),
        ("sqlite:////no/such/folder/x.db", "cannot be opened"),
        ("mssql+pyodbc://u:secret@server/db?driver=Nope", "driver is not installed"),
    ],
)
def test_cli_bad_connection_is_one_line_and_exit_2(tmp_path: Path, conn: str, words: str) -> None:
    result = _cli("upgrade", conn, "--yes", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert words in lines[0] and "Traceback" not in result.stderr
    assert "secret" not in result.stderr


def test_opening_an_old_layout_database_says_to_upgrade(sqlite_empty_url: str) -> None:
    engine = build_engine(sqlite_empty_url)
    migrate.upgrade(engine, OLD_LAYOUT_REVISION)  # what an earlier openorch left
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE openorch_version"))
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'a3f1c0de0001'"))
    engine.dispose()
    store = Store.open(sqlite_empty_url)
    assert any("openorch upgrade" in w and "openorch_version" in w for w in store.open_warnings)
    store.close()


def test_opening_a_database_at_another_revision_says_what_to_do(sqlite_empty_url: str) -> None:
    """An older database asks for the upgrade; a newer one (a machine whose openorch was
    left behind) asks to upgrade openorch here: the warning names both ways out."""
    engine = build_engine(sqlite_empty_url)
    migrate.upgrade(engine, "0d21a1e5c001")
    engine.dispose()
    store = Store.open(sqlite_empty_url)
    warnings = [w for w in store.open_warnings if "0d21a1e5c001" in w]
    store.close()
    assert len(warnings) == 1, store.open_warnings
    assert HEAD_REVISION in warnings[0] and "wrong figures" in warnings[0]
    assert "openorch upgrade" in warnings[0] and "upgrade openorch on this machine" in warnings[0]

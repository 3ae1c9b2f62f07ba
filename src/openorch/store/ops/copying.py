"""Copying every row of one openorch database into another (`openorch copy SOURCE TARGET`).

A team that outgrows local mode (one SQLite file) moves to PostgreSQL or SQL Server
without starting over: every table is copied row for row into an empty target, which
is created or upgraded with the project's migrations first. What the copy promises:

- Values are copied as they are stored. Credential passwords stay encrypted, so the
  same key keeps working; ids (UUIDs, names) and times are unchanged, so jobs still
  point at their triggers, logs at their jobs, pipeline runs at their elements.
  Enumerations and whitelists are copied as their stored text, not re-validated: a row
  the original wrote by hand arrives exactly as it was.
- The target must be empty (no row in any openorch table). Anything else is refused
  before a single write, with a message that says why; a mistyped target never mixes
  two databases.
- The rows are read in one read transaction (a consistent snapshot on SQLite and
  PostgreSQL) and written in one write transaction, in batches, parents before children
  (`MetaData.sorted_tables`), so a failure half-way leaves the target without rows and
  the command can simply be run again.
- At the end the rows of every table are counted in the target, in a new connection,
  and compared with the source.

No table has a generated integer key (every primary key is a UUID or a name; a unit
test keeps it so), so there are no PostgreSQL sequences or SQL Server IDENTITY columns
to move on after inserting explicit ids. The version tables (`alembic_version`,
`openorch_version`) are not copied: the target gets its own by being upgraded.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Enum,
    MetaData,
    String,
    Table,
    TypeDecorator,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import TypeEngine

from openorch.database import Base, load_all_models
from openorch.masking import mask
from openorch.private_files import create_private
from openorch.store.core import HEAD_REVISION
from openorch.store.engine import IMMEDIATE, build_engine, describe_connection_error, parse_url
from openorch.store.errors import CopyFailed, CopyRefused
from openorch.store.revision import read_revisions

#: Rows read and written per round trip.
DEFAULT_BATCH_SIZE = 2000

# Copying works on every table.
load_all_models()

#: What was done to the target before the rows went in.
Preparation = Literal["created", "upgraded", "ready"]


@dataclass(frozen=True)
class Progress:
    """Where a copy is: the table being copied and how far, and how far overall."""

    table: str
    table_done: int
    table_total: int
    done: int
    total: int


@dataclass(frozen=True)
class TableCount:
    """One table's rows in the source (in the snapshot copied) and in the target after."""

    table: str
    source: int
    target: int

    @property
    def matches(self) -> bool:
        """True when the target holds as many rows as were copied."""
        return self.source == self.target


@dataclass(frozen=True)
class CopyResult:
    """What a finished copy did and found."""

    prepared: Preparation
    counts: tuple[TableCount, ...]

    @property
    def rows(self) -> int:
        """Rows copied, all tables together."""
        return sum(count.source for count in self.counts)

    @property
    def mismatches(self) -> tuple[TableCount, ...]:
        """Tables whose row count in the target differs from the source's."""
        return tuple(count for count in self.counts if not count.matches)


def _plain_type(column_type: TypeEngine[Any]) -> TypeEngine[Any]:
    """The column's type for copying: enumerations and JSON-text lists as the plain text
    they are stored as (so nothing is re-validated or rewritten on the way); UUIDs,
    times, booleans and numbers keep their types, which convert between databases
    (a SQLite UUID is 32 hex characters, a PostgreSQL one a native `uuid`)."""
    if isinstance(column_type, Enum):
        return String(column_type.length)
    if isinstance(column_type, TypeDecorator):
        return _plain_type(column_type.impl_instance)
    return column_type


def copy_tables() -> tuple[Table, ...]:
    """Every openorch table as plain columns, parents before children (foreign keys)."""
    metadata = MetaData()
    return tuple(
        Table(
            table.name,
            metadata,
            *(
                Column(column.name, _plain_type(column.type), primary_key=column.primary_key)
                for column in table.columns
            ),
            schema=table.schema,
        )
        for table in Base.metadata.sorted_tables
    )


def _is_local(host: str | None) -> bool:
    return (host or "localhost").lower() in ("localhost", "127.0.0.1", "::1", "[::1]")


def same_database(first: URL, second: URL) -> bool:
    """True when two connection URLs name the same database: the same SQLite file (after
    resolving the path), or the same server, port and database name (any driver)."""
    if first.get_backend_name() != second.get_backend_name():
        return False
    if first.get_backend_name() == "sqlite":
        paths = [url.database for url in (first, second)]
        if any(path in (None, "", ":memory:") for path in paths):
            return False
        one, two = (Path(str(path)).expanduser() for path in paths)
        if one.exists() and two.exists():
            return os.path.samefile(one, two)
        return one.resolve() == two.resolve()

    def place(url: URL) -> tuple[object, ...]:
        host = "localhost" if _is_local(url.host) else (url.host or "").lower()
        return (host, url.port, url.database, url.query.get("odbc_connect"))

    return place(first) == place(second)


def _parse(role: str, database: str | URL) -> URL:
    try:
        return parse_url(database)
    except ValueError as error:
        raise CopyRefused(f"{role}: {error}") from error


def _sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.database.startswith("file:"):
        return None
    return Path(url.database).expanduser()


def _engine(role: str, url: URL) -> Engine:
    try:
        return build_engine(url)
    except ValueError as error:
        raise CopyRefused(f"{role}: {error}") from error


def _connect_error(role: str, label: str, error: Exception) -> CopyRefused:
    return CopyRefused(f"{role}: {describe_connection_error(error, label)}")


def _check_source(engine: Engine, label: str) -> None:
    """The source must be at this openorch's revision: copying a schema the target would
    not have (or lack columns it has) would lose or refuse rows."""
    from openorch.store import migrate  # lazy: Alembic costs start-up time

    try:
        with engine.connect() as connection:
            found = read_revisions(connection)
            names = set(inspect(connection).get_table_names())
    except SQLAlchemyError as error:
        raise _connect_error("SOURCE", label, error) from error
    if found.openorch == HEAD_REVISION:
        return
    upgrade_first = (
        "Bring it up to date first (back it up and stop the programs using it): "
        f'openorch upgrade "{label}"'
    )
    if found.current is None:
        if names & {table.name for table in Base.metadata.sorted_tables}:
            raise CopyRefused(
                f"SOURCE {label} has OpenOrchestrator tables but no revision. {upgrade_first}"
            )
        raise CopyRefused(f"SOURCE {label} has no openorch tables: is it the right database?")
    if found.old_layout or found.current in migrate.revision_chain():
        raise CopyRefused(
            f"SOURCE {label} is at revision {found.current}, older than this openorch's "
            f"({HEAD_REVISION}). {upgrade_first}"
        )
    raise CopyRefused(
        f"SOURCE {label} is at revision {found.current}, which this version of openorch does "
        "not know (was it upgraded by a newer openorch?): copy it with that version."
    )


def _live_schedulers(engine: Engine) -> list[str]:
    """Schedulers the source's liveness rule still counts as running (the same rule as
    the Schedulers tab), leaving out those that recorded a clean stop: what a running
    one writes after the copy read the source stays behind."""
    # Lazy: only `openorch copy` reaches here (start-up time of the CLI).
    from sqlalchemy.orm import Session

    from openorch.store.runs.schedulers import scheduler_health

    try:
        with Session(engine) as session:
            return [
                one.scheduler.machine_name
                for one in scheduler_health(session)
                if one.alive and one.scheduler.engine_state != "stopped"
            ]
    except SQLAlchemyError:
        return []  # only a warning: the copy itself will say what is wrong


def _row_counts(connection: Connection, tables: tuple[Table, ...]) -> dict[str, int]:
    return {
        table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        for table in tables
    }


def _check_target(engine: Engine, label: str, tables: tuple[Table, ...]) -> Preparation:
    """Refuse a target holding any row; say whether it needs creating or upgrading.

    Returns "created" (no openorch tables: they will be made), "upgraded" (an empty
    database at an older revision) or "ready" (an empty database at this revision)."""
    from openorch.store import migrate  # lazy: Alembic costs start-up time

    try:
        with engine.connect() as connection:
            found = read_revisions(connection)
            present = set(inspect(connection).get_table_names())
            ours = tuple(table for table in tables if table.name in present)
            filled = {name: rows for name, rows in _row_counts(connection, ours).items() if rows}
    except SQLAlchemyError as error:
        raise _connect_error("TARGET", label, error) from error
    if filled:
        listed = ", ".join(
            f"{name} ({rows} row{'' if rows == 1 else 's'})"
            for name, rows in sorted(filled.items())
        )
        raise CopyRefused(
            f"TARGET {label} is not empty: {listed}. Copy only into an empty database (a new "
            "one, or one just made with openorch upgrade --new). Nothing was changed."
        )
    if found.current is None:
        if ours:
            raise CopyRefused(
                f"TARGET {label} has openorch tables but no revision: give a new, empty "
                "database. Nothing was changed."
            )
        return "created"
    if found.openorch == HEAD_REVISION:
        return "ready"
    if found.old_layout or found.current in migrate.revision_chain():
        return "upgraded"
    raise CopyRefused(
        f"TARGET {label} is at revision {found.current}, which this version of openorch does "
        "not know (was it upgraded by a newer openorch?). Nothing was changed."
    )


def _prepare_sqlite_target(url: URL, label: str) -> None:
    """A new SQLite target file is made owner-only before SQLite creates it (SQLite gives
    its -wal and -shm files the same mode): it holds encrypted credentials and token
    hashes. This process holds no connection to that file yet (it does not exist, and
    it is not the source), so the brief open and close here drop no SQLite lock."""
    path = _sqlite_path(url)
    if path is None or path.exists():
        return
    if not path.parent.is_dir():
        raise CopyRefused(f"TARGET {label}: the folder {path.parent} does not exist.")
    create_private(path)  # a new file (checked above): no connection can hold it


def _snapshot(connection: Connection) -> Connection:
    """Reads in one transaction that sees one moment: SQLite's BEGIN (WAL) already does;
    PostgreSQL's default isolation would let a table copied later see newer rows."""
    if connection.dialect.name == "postgresql":
        return connection.execution_options(isolation_level="REPEATABLE READ")
    return connection


def _copy_rows(
    source: Engine,
    target: Engine,
    tables: tuple[Table, ...],
    batch_size: int,
    on_progress: Callable[[Progress], None],
) -> dict[str, int]:
    """Copy every table in one read and one write transaction; returns the source's counts."""
    with (
        source.connect() as plain_reader,
        target.execution_options(**{IMMEDIATE: True}).begin() as writer,
    ):
        reader = _snapshot(plain_reader)
        with reader.begin():
            counts = _row_counts(reader, tables)
            total = sum(counts.values())
            done = 0
            streaming = reader.execution_options(yield_per=batch_size)
            for table in tables:
                table_done = 0
                on_progress(Progress(table.name, 0, counts[table.name], done, total))
                ordered = select(table).order_by(*table.primary_key.columns)
                for batch in streaming.execute(ordered).partitions():
                    rows = [dict(row._mapping) for row in batch]
                    writer.execute(table.insert(), rows)
                    table_done += len(rows)
                    done += len(rows)
                    on_progress(Progress(table.name, table_done, counts[table.name], done, total))
        return counts


def copy_database(
    source: str | URL,
    target: str | URL,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Callable[[Progress], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> CopyResult:
    """Copy every row of the openorch database `source` into the empty database `target`.

    The target is created or upgraded first when it needs it (an empty database with no
    openorch tables, or an empty one at an older revision). `on_progress` hears about
    every batch; `on_note` gets a sentence for each step worth telling (masked).

    Raises:
        CopyRefused: bad or unreachable source or target, the same database twice, a
            source not at this revision, a target that is not empty. Nothing was written.
        CopyFailed: the copy failed; no row was left in the target (it may have been
            created or upgraded, and is then a valid empty database).
    """
    if batch_size < 1:
        raise CopyRefused(f"The batch size must be at least 1; got {batch_size}.")
    note = on_note or (lambda _text: None)
    source_url, target_url = _parse("SOURCE", source), _parse("TARGET", target)
    source_label, target_label = mask(source_url), mask(target_url)
    if same_database(source_url, target_url):
        raise CopyRefused(
            f"SOURCE and TARGET are the same database ({target_label}): give a new, empty "
            "database as TARGET."
        )
    source_path = _sqlite_path(source_url)
    if source_path is not None and not source_path.is_file():
        # SQLite would create an empty file here; the user meant an existing one.
        raise CopyRefused(f"SOURCE {source_label}: there is no file {source_path}.")

    tables = copy_tables()
    source_engine = _engine("SOURCE", source_url)
    try:
        _check_source(source_engine, source_label)
        _prepare_sqlite_target(target_url, target_label)
        target_engine = _engine("TARGET", target_url)
        try:
            prepared = _check_target(target_engine, target_label, tables)
            return _prepare_and_copy(
                source_engine,
                target_engine,
                tables,
                prepared,
                target_label,
                batch_size,
                on_progress or (lambda _progress: None),
                note,
            )
        finally:
            target_engine.dispose()
    finally:
        source_engine.dispose()


def _prepare_and_copy(
    source: Engine,
    target: Engine,
    tables: tuple[Table, ...],
    prepared: Preparation,
    label: str,
    batch_size: int,
    on_progress: Callable[[Progress], None],
    note: Callable[[str], None],
) -> CopyResult:
    """Warn about live Schedulers, create or upgrade the target, copy, count again."""
    from openorch.store import migrate  # lazy: Alembic costs start-up time

    running = _live_schedulers(source)
    if running:
        note(
            f"Warning: the Scheduler(s) {', '.join(running)} sent a heartbeat to SOURCE "
            "recently. If they still run, stop them (and the Orchestrator) first: what "
            "they write after this copy stays behind."
        )
    if prepared != "ready":
        verb = "Creating the openorch tables in" if prepared == "created" else "Upgrading"
        note(f"{verb} {label} (revision {HEAD_REVISION}).")
        try:
            migrate.upgrade(target)
        except (SQLAlchemyError, RuntimeError) as error:
            raise CopyFailed(f"preparing TARGET {label} failed: {_first_line(error)}") from error
    try:
        counts = _copy_rows(source, target, tables, batch_size, on_progress)
    except SQLAlchemyError as error:
        raise CopyFailed(
            f"copying failed and no row was kept in TARGET {label}: {_first_line(error)}"
        ) from error
    note("Counting the rows in the target.")
    try:
        with target.connect() as connection:
            found = _row_counts(connection, tables)
    except SQLAlchemyError as error:
        raise CopyFailed(
            f"counting the rows in TARGET {label} failed: {_first_line(error)}"
        ) from error
    return CopyResult(
        prepared,
        tuple(TableCount(table.name, counts[table.name], found[table.name]) for table in tables),
    )


def _first_line(error: BaseException) -> str:
    """The first line of a driver's error, masked (drivers echo connection parameters)."""
    original = getattr(error, "orig", None)
    lines = str(original if original is not None else error).strip().splitlines()
    return mask(lines[0] if lines else type(error).__name__)

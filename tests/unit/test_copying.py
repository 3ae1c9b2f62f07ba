"""What `openorch copy` relies on about the schema, and how it tells databases apart."""

import io

import pytest
from sqlalchemy import Enum, Integer, String, make_url

from openorch.copy_command import ProgressDisplay
from openorch.database import Base
from openorch.store.ops.copying import Progress, copy_tables, same_database


def test_no_table_has_a_generated_integer_key() -> None:
    """copying.py inserts explicit keys and moves no sequence or IDENTITY on afterwards.
    A table with a generated integer key would need that (PostgreSQL's setval, SQL
    Server's IDENTITY_INSERT): add it to copying.py before changing this test."""
    generated = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.identity is not None
        or (
            column.primary_key
            and isinstance(column.type, Integer)
            and column.autoincrement in (True, "auto")
            and len(table.primary_key.columns) == 1
        )
    ]
    assert generated == []


def test_every_model_table_is_copied_as_plain_stored_values() -> None:
    tables = copy_tables()
    assert [table.name for table in tables] == [t.name for t in Base.metadata.sorted_tables]
    assert not {"alembic_version", "openorch_version"} & {table.name for table in tables}
    for table in tables:
        model = Base.metadata.tables[table.name]
        assert [c.name for c in table.columns] == [c.name for c in model.columns]
        assert [c.name for c in table.primary_key] == [c.name for c in model.primary_key]
    triggers = dict(zip([t.name for t in tables], tables, strict=True))["Triggers"]
    # Enumerations and the whitelist's JSON text travel as the text they are stored as.
    assert not any(isinstance(column.type, Enum) for column in triggers.columns)
    assert type(triggers.c.process_status.type) is String
    assert type(triggers.c.scheduler_whitelist.type) is String
    assert triggers.c.scheduler_whitelist.type.length == 250


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("sqlite:///{tmp}/a.db", "sqlite:///{tmp}/../{name}/a.db", True),
        ("sqlite:///{tmp}/a.db", "sqlite:///{tmp}/b.db", False),
        ("sqlite:///:memory:", "sqlite:///:memory:", False),
        (
            "postgresql+psycopg://a:x@localhost:5432/rpa",
            "postgresql://b:y@127.0.0.1:5432/rpa",
            True,
        ),
        ("postgresql+psycopg://a@db1/rpa", "postgresql+psycopg://a@DB1/rpa", True),
        ("postgresql+psycopg://a@db1/rpa", "postgresql+psycopg://a@db2/rpa", False),
        ("postgresql+psycopg://a@db1/rpa", "postgresql+psycopg://a@db1/rpa2", False),
        ("postgresql+psycopg://a@db1:5432/rpa", "postgresql+psycopg://a@db1:5433/rpa", False),
        ("sqlite:///{tmp}/rpa", "postgresql+psycopg://a@localhost/rpa", False),
    ],
    ids=[
        "sqlite-same-file",
        "sqlite-other-file",
        "sqlite-memory",
        "server-localhost-alias",
        "server-host-case",
        "server-other-host",
        "server-other-database",
        "server-other-port",
        "other-backend",
    ],
)
def test_same_database(first: str, second: str, same: bool, tmp_path: object) -> None:
    values = {"tmp": tmp_path, "name": getattr(tmp_path, "name", "")}
    one, two = (make_url(url.format(**values)) for url in (first, second))
    assert same_database(one, two) is same
    assert same_database(two, one) is same


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_redraws_one_line_on_a_terminal() -> None:
    stream = _Terminal()
    display = ProgressDisplay(stream)
    display(Progress("Logs", 0, 4, 0, 4))
    display(Progress("Logs", 2, 4, 2, 4))
    display(Progress("Logs", 4, 4, 4, 4))
    display.end()
    text = stream.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "[###############...............]  50%  Logs 2/4" in text
    assert "[##############################] 100%  Logs 4/4" in text


def test_progress_to_a_log_is_one_line_per_table_with_rows() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(stream)
    display.LOG_EVERY = 3
    display(Progress("Alerts", 0, 0, 0, 8))  # empty: no line
    display(Progress("Logs", 0, 8, 0, 8))
    for done in (2, 4, 6, 8):
        display(Progress("Logs", done, 8, done, 8))
    display.end()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert [line.split()[:2] for line in lines] == [["Logs", "4"], ["Logs", "8"]]

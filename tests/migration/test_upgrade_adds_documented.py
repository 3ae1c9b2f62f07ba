"""docs/migrating.md's "What the upgrade adds" matches what `openorch upgrade` adds to a
database at OpenOrchestrator 3.0.0's head: the counts, every new table and column by
name, and every new column nullable (so rows the original writes stay valid)."""

import re
from pathlib import Path

import sqlalchemy as sa

from openorch import migrate
from openorch.store import ORIGINAL_HEAD_REVISION, build_engine

MIGRATING = Path(__file__).resolve().parents[2] / "docs" / "migrating.md"


def _shape(engine: sa.Engine) -> dict[str, tuple[dict[str, bool], set[str]]]:
    inspector = sa.inspect(engine)
    return {
        table: (
            {column["name"]: column["nullable"] for column in inspector.get_columns(table)},
            {str(index["name"]) for index in inspector.get_indexes(table)},
        )
        for table in inspector.get_table_names()
    }


def _section() -> str:
    text = MIGRATING.read_text(encoding="utf-8")
    start = text.index("### What the upgrade adds")
    return text[start : text.index("\n## ", start)]


def test_the_documented_additions_are_what_the_upgrade_adds(sqlite_empty_url: str) -> None:
    engine = build_engine(sqlite_empty_url)
    migrate.upgrade(engine, ORIGINAL_HEAD_REVISION)
    before = _shape(engine)
    migrate.upgrade(engine)
    after = _shape(engine)
    engine.dispose()

    tables = sorted(set(after) - set(before))
    columns = [
        (table, name, nullable)
        for table in sorted(before)
        for name, nullable in after[table][0].items()
        if name not in before[table][0]
    ]
    indexes = [
        (table, name)
        for table in sorted(before)
        for name in sorted(after[table][1] - before[table][1])
    ]
    # Nothing of the original's changes or goes.
    for table, (old_columns, old_indexes) in before.items():
        if table == "alembic_version":
            continue
        assert set(old_columns) <= set(after[table][0]), table
        assert old_indexes <= after[table][1], table
        assert all(after[table][0][name] == old_columns[name] for name in old_columns), table
    assert all(nullable for _table, _name, nullable in columns), columns

    section = _section()
    counts = dict(
        (kind, int(number))
        for number, kind in re.findall(r"\*\*(\d+) (tables|nullable columns|indexes)\*\*", section)
    )
    assert counts == {
        "tables": len(tables),
        "nullable columns": len(columns),
        "indexes": len(indexes),
    }, (tables, columns, indexes)
    named = set(re.findall(r"`([A-Za-z_]+)`", section))
    assert set(tables) <= named, set(tables) - named
    assert {name for _table, name, _ in columns} <= named

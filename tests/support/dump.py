"""Every row of every table of a database, as text: to compare before and after a call,
and to search for a string that must never be stored (the encryption key)."""

import sqlalchemy as sa


def dump_tables(database: str | sa.Engine) -> dict[str, list[tuple[str, ...]]]:
    """Each table (reflected, so Alembic's and any future table count) → its rows, each
    column as `str()`, sorted so two dumps compare equal when the data is equal.

    Takes a URL (an engine is made and disposed here) or an engine (left open)."""
    engine = sa.create_engine(database) if isinstance(database, str) else database
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {
                table.name: sorted(
                    tuple(str(value) for value in row)
                    for row in connection.execute(sa.select(table))
                )
                for table in metadata.sorted_tables
            }
    finally:
        if engine is not database:
            engine.dispose()


def as_text(dump: dict[str, list[tuple[str, ...]]]) -> str:
    """One string holding every value, for `needle in as_text(dump)` checks."""
    return "\n".join(f"{table}: {' | '.join(row)}" for table, rows in dump.items() for row in rows)

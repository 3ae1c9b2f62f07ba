"""The declarative base and the column helpers the models share."""

import enum

from sqlalchemy import Enum, Table
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base whose metadata holds every openorch table."""


def enum_column_type(enum_class: type[enum.Enum]) -> Enum:
    """A non-native enum stored as the member *name* in a plain VARCHAR.

    Native PostgreSQL ENUM types break when a member is added, and the original
    OpenOrchestrator stores names, so both programs can share one database.
    """
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=max(len(member.name) for member in enum_class),
        validate_strings=True,
    )


def table_of(model: type[Base]) -> Table:
    """The `Table` behind a mapped class (typed as such, for Core statements)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table

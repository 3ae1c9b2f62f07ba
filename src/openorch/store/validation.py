"""Input checks done before anything is written.

Every check raises `ValueError` naming the field and the limit, so a caller (SDK user,
admin in the UI, Scheduler) learns what to fix, and nothing reaches the database.
Lengths come from the models, so they cannot drift from the schema.
"""

import enum
import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import DeclarativeBase

E = TypeVar("E", bound=enum.Enum)


def column_length(model: type[DeclarativeBase], field: str) -> int:
    """The declared length of a string column of `model`."""
    length = model.__table__.c[field].type.length  # type: ignore[attr-defined]
    assert isinstance(length, int)
    return length


def check_text(
    model: type[DeclarativeBase],
    field: str,
    value: Any,
    *,
    required: bool = True,
    label: str | None = None,
) -> str | None:
    """Check a string for a column: type, emptiness, length, and characters a database
    cannot store (NUL, lone surrogates). Returns the value unchanged."""
    name = label or field
    if value is None:
        if required:
            raise ValueError(f"{name} is required.")
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, not {type(value).__name__}.")
    if required and not value.strip():
        raise ValueError(f"{name} must not be empty.")
    limit = column_length(model, field)
    if len(value) > limit:
        raise ValueError(f"{name} is too long: {len(value)} characters, the limit is {limit}.")
    check_storable(name, value)
    return value


def check_storable(name: str, value: str) -> None:
    """Refuse characters no supported database stores faithfully."""
    if "\x00" in value:
        raise ValueError(f"{name} contains a NUL character (\\x00), which cannot be stored.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"{name} contains characters that are not valid Unicode text "
            f"(at position {error.start})."
        ) from error


def check_uuid(field: str, value: Any) -> uuid.UUID:
    """Accept a UUID or its string form."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{field} is not a valid UUID: {value!r}.")


def check_optional_uuid(field: str, value: Any) -> uuid.UUID | None:
    """Like `check_uuid`, but None and "" mean no id."""
    if value is None or value == "":
        return None
    return check_uuid(field, value)


def check_enum(enum_class: type[E], field: str, value: Any) -> E:
    """Accept a member, its name (`IN_PROGRESS`) or its value (`In Progress`)."""
    if isinstance(value, enum_class):
        return value
    if isinstance(value, str):
        if value in enum_class.__members__:
            return enum_class[value]
        for member in enum_class:
            if member.value == value:
                return member
    choices = ", ".join(member.name for member in enum_class)
    raise ValueError(f"{field} must be one of {choices}; got {value!r}.")


def check_int(field: str, value: Any, *, minimum: int | None = None) -> int:
    """An integer (not a bool) within the range a 32-bit column holds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} must be an integer, not {type(value).__name__}.")
    if not -(2**31) <= value < 2**31:
        raise ValueError(f"{field} is out of range: {value}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{field} must be at least {minimum}; got {value}.")
    return value


def check_bool(field: str, value: Any) -> bool:
    """A real bool (0/1 integers are accepted, as old scripts pass them)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"{field} must be True or False; got {value!r}.")


def check_datetime(field: str, value: Any, *, required: bool = True) -> datetime | None:
    """A naive local datetime (aware ones are converted to local time)."""
    if value is None:
        if required:
            raise ValueError(f"{field} is required.")
        return None
    if not isinstance(value, datetime):
        raise ValueError(f"{field} must be a datetime, not {type(value).__name__}.")
    if value.tzinfo is not None:
        return value.astimezone().replace(tzinfo=None)
    return value


def check_cron(value: Any) -> str:
    """A 5-field cron expression that croniter can step through."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("cron_expr is required: a 5-field cron expression such as '0 7 * * 1-5'.")
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(
            f"cron_expr must have 5 fields (minute hour day month weekday); got {value!r}."
        )
    check_storable("cron_expr", value)
    from croniter import croniter  # not at import time: SDK processes never need cron

    try:
        croniter(value, datetime.now()).get_next(datetime)
    except Exception as error:  # croniter raises several unrelated types
        raise ValueError(
            f"cron_expr is not a valid cron expression: {value!r} ({error})."
        ) from error
    return value


def next_cron_time(cron_expr: str, after: datetime) -> datetime:
    """The first time after `after` that `cron_expr` names."""
    from croniter import croniter

    result = croniter(cron_expr, after).get_next(datetime)
    assert isinstance(result, datetime)
    return result


def check_names(field: str, values: Iterable[Any] | None, max_json_length: int) -> str | None:
    """A whitelist of scheduler names, returned as the JSON text the column stores."""
    if values is None:
        return None
    if isinstance(values, str):
        values = [values] if values.strip() else []
    names: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise ValueError(f"{field} must hold strings, not {type(value).__name__}.")
        check_storable(field, value)
        if value.strip() and value.strip() not in names:
            names.append(value.strip())
    if not names:
        return None
    encoded = json.dumps(names)
    if len(encoded) > max_json_length:
        raise ValueError(
            f"{field} is too long: {len(encoded)} characters as JSON, "
            f"the limit is {max_json_length}."
        )
    return encoded

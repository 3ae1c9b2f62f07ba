"""Input checks done before anything is written.

Every check raises `ValueError` naming the field and the limit, so a caller (SDK user,
admin in the UI, Scheduler) learns what to fix, and nothing reaches the database.
Lengths come from the models, so they cannot drift from the schema.
"""

import enum
import json
import numbers
import operator
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import DeclarativeBase

from openorch.store.errors import BadInput

E = TypeVar("E", bound=enum.Enum)


def column_length(model: type[DeclarativeBase], field: str) -> int:
    """The declared length of a string column of `model`."""
    length = model.__table__.c[field].type.length  # type: ignore[attr-defined]
    assert isinstance(length, int)
    return length


def as_text(value: Any) -> Any:
    """A number where text is expected becomes its text (`1254` -> `'1254'`), as the
    original's database drivers stored it; anything else is returned unchanged for the
    caller's type check (a bool stays a bool and is refused: its text differs by driver)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def check_text(
    model: type[DeclarativeBase],
    field: str,
    value: Any,
    *,
    required: bool = True,
    label: str | None = None,
    nonblank: bool = False,
) -> str | None:
    """Check a string for a column: type, presence (`required`: not None), length, and
    characters a database cannot store (NUL, lone surrogates). Returns the value to store:
    unchanged, or a number's text (see `as_text`).

    Blank text is stored as given, as the original stored it; forms that want a real
    value pass `nonblank=True`."""
    name = label or field
    if value is None:
        if required:
            raise BadInput(f"{name} is required.")
        return None
    value = as_text(value)
    if not isinstance(value, str):
        raise BadInput(f"{name} must be a string, not {type(value).__name__}.")
    if nonblank and not value.strip():
        raise BadInput(f"{name} must not be empty.")
    limit = column_length(model, field)
    if len(value) > limit:
        raise BadInput(f"{name} is too long: {len(value)} characters, the limit is {limit}.")
    check_storable(name, value)
    return value


def check_storable(name: str, value: str) -> None:
    """Refuse characters no supported database stores faithfully."""
    if "\x00" in value:
        raise BadInput(f"{name} contains a NUL character (\\x00), which cannot be stored.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise BadInput(
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
    raise BadInput(f"{field} is not a valid UUID: {value!r}.")


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
    raise BadInput(f"{field} must be one of {choices}; got {value!r}.")


def check_limit(value: Any) -> int | None:
    """A page size: None or 0 mean "no limit" (as in the original), else at least 1."""
    if value is None:
        return None
    return check_int("limit", value, minimum=0) or None


def order_key(value: str | None) -> str | None:
    """Normalise a sort key the way the original's tables send it: `'Log Time'` ->
    `'log_time'`; None, `''` and `'none'` mean the default order (None)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"order_by must be a string, not {type(value).__name__}.")
    key = value.strip().lower().replace(" ", "_")
    return None if key in ("", "none") else key


def check_int(field: str, value: Any, *, minimum: int | None = None) -> int:
    """An integer (not a bool) within the range a 32-bit column holds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{field} must be an integer, not {type(value).__name__}.")
    if not -(2**31) <= value < 2**31:
        raise BadInput(f"{field} is out of range: {value}.")
    if minimum is not None and value < minimum:
        raise BadInput(f"{field} must be at least {minimum}; got {value}.")
    return value


def check_whole_number(
    field: str, value: Any, *, minimum: int | None = None, default: int | None = None
) -> int:
    """An integer given as OpenOrchestrator 3.0.0's callers give it: NiceGUI number
    fields, JSON and pandas hand over floats and strings. What converts to an integer
    without loss is that integer (`7.0`, `"5"`, `" 5 "`, `"5.0"`, `True` -> 1, as the
    original's databases stored them); None is `default` (a column default), else
    refused. A value that would change (`1.5`, `"1.5"`, `nan`) is refused: the original
    stored 1.5 on SQLite and 2 on PostgreSQL. Then `check_int`'s range and minimum."""
    if value is None and default is not None:
        return check_int(field, default, minimum=minimum)
    number: Any = value
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise BadInput(f"{field} must be an integer; got {value!r}.") from None
    if isinstance(number, bool):
        number = int(number)
    elif not isinstance(number, int) and isinstance(number, numbers.Number):
        try:
            whole = int(number)  # type: ignore[call-overload]
        except (TypeError, ValueError, OverflowError):
            raise BadInput(f"{field} must be an integer; got {value!r}.") from None
        if whole != number:
            raise BadInput(
                f"{field} must be an integer; got {value!r}, which would not be stored as given."
            )
        number = whole
    elif not isinstance(number, int) and hasattr(number, "__index__"):  # numpy integers
        number = operator.index(number)
    return check_int(field, number, minimum=minimum)


def check_bool(field: str, value: Any) -> bool:
    """A real bool (0/1 integers are accepted, as old scripts pass them)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise BadInput(f"{field} must be True or False; got {value!r}.")


def check_datetime(field: str, value: Any, *, required: bool = True) -> datetime | None:
    """A naive local datetime (aware ones are converted to local time)."""
    if value is None:
        if required:
            raise BadInput(f"{field} is required.")
        return None
    if not isinstance(value, datetime):
        raise BadInput(f"{field} must be a datetime, not {type(value).__name__}.")
    if value.tzinfo is not None:
        return value.astimezone().replace(tzinfo=None)
    return value


def check_cron(value: Any, label: str = "cron_expr") -> str:
    """A 5-field cron expression that croniter can step through; `label` names it in
    the message (the Orchestrator says "Cron", the API the field's name)."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{label} is required: a 5-field cron expression such as '0 7 * * 1-5'.")
    fields = value.split()
    if len(fields) != 5:
        raise BadInput(
            f"{label}: 5 fields are needed (minute hour day month weekday, e.g. "
            f"'0 7 * * 1-5'); {value.strip()!r} has {len(fields)}."
        )
    check_storable(label, value)
    from croniter import croniter  # not at import time: SDK processes never need cron

    try:
        croniter(value, datetime.now()).get_next(datetime)
    except Exception as error:  # croniter raises several unrelated types
        raise BadInput(
            f"{label}: {value.strip()!r} is not a valid cron expression ({error})."
        ) from error
    return value


def next_cron_times(cron_expr: str, after: datetime, count: int) -> list[datetime]:
    """The first `count` times after `after` that `cron_expr` names."""
    # Lazy: croniter is needed only where a cron is read (SDK start-up time).
    from croniter import croniter

    stepper = croniter(cron_expr, after)
    return [stepper.get_next(datetime) for _ in range(count)]


def next_cron_time(cron_expr: str, after: datetime) -> datetime:
    """The first time after `after` that `cron_expr` names."""
    # Lazy: croniter is needed only where a cron is read (SDK start-up time).
    from croniter import croniter

    result = croniter(cron_expr, after).get_next(datetime)
    assert isinstance(result, datetime)
    return result


def check_names(field: str, values: Iterable[Any] | None, max_json_length: int) -> list[str] | None:
    """A whitelist of scheduler names (stripped, without duplicates or blanks), checked
    to fit the column as JSON. None stays None and an empty list stays empty, as in the
    original; a single string is one name."""
    if values is None:
        return None
    if isinstance(values, str):
        values = [values] if values.strip() else []
    names: list[str] = []
    for value in values:
        value = as_text(value)
        if not isinstance(value, str):
            raise BadInput(f"{field} must hold strings, not {type(value).__name__}.")
        check_storable(field, value)
        if value.strip() and value.strip() not in names:
            names.append(value.strip())
    encoded = json.dumps(names)
    if len(encoded) > max_json_length:
        raise BadInput(
            f"{field} is too long: {len(encoded)} characters as JSON, "
            f"the limit is {max_json_length}."
        )
    return names

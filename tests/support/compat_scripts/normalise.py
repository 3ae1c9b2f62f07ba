"""Turn what an `OpenOrchestrator` call returned (or raised) into plain JSON, the same way
for the original and for openorch, so two runs can be compared value for value.

- ids become labels in order of first appearance (`id1`, `id2`...): the original makes
  UUID4s, openorch time-ordered UUID7s, and a row's id must only stay the same row's;
- a moment within ten minutes of now becomes `"<now>"`; a fixed one keeps its ISO text;
- an ORM object becomes its class name and column values; enums `"Class.NAME"`;
- tuples and lists keep their type (`["tuple", ...]`), as callers can tell them apart;
- an exception becomes `{"raised": [...]}`: the classes, from a fixed list, it is an
  instance of, so "openorch's error is still caught by the original's except clause" is
  a subset test.
"""

import enum
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError, NoInspectionAvailable, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError, UnmappedInstanceError

try:
    from cryptography.fernet import InvalidToken
except ImportError:  # pragma: no cover - both environments have cryptography
    InvalidToken = None  # type: ignore[assignment,misc]

#: The exception classes a result records (an `except` clause names one of these).
#: How the original's tables show a moment (`to_row_dict`).
_SHOWN = re.compile(r"^\d\d-\d\d-\d{4} \d\d:\d\d:\d\d$")

EXCEPTIONS: list[tuple[str, type]] = [
    ("ValueError", ValueError),
    ("RuntimeError", RuntimeError),
    ("TypeError", TypeError),
    ("AttributeError", AttributeError),
    ("KeyError", KeyError),
    ("IntegrityError", IntegrityError),
    ("UnmappedInstanceError", UnmappedInstanceError),
    ("StaleDataError", StaleDataError),
    ("SQLAlchemyError", SQLAlchemyError),
]
if InvalidToken is not None:
    EXCEPTIONS.append(("InvalidToken", InvalidToken))


_TRIGGER = (
    "id",
    "trigger_name",
    "process_name",
    "last_run",
    "process_path",
    "process_args",
    "process_status",
    "is_git_repo",
    "git_branch",
    "is_blocking",
    "scheduler_whitelist",
    "priority",
    "type",
)

#: The columns the original's models have: openorch's extra columns are left out.
ORIGINAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "Constant": ("name", "value", "changed_at"),
    "Credential": ("name", "username", "password", "changed_at"),
    "Job": ("id", "process_name", "scheduler_name", "status", "start_time", "end_time"),
    "Log": ("id", "log_time", "log_level", "process_name", "job_id", "log_message"),
    "QueueElement": (
        "id",
        "queue_name",
        "status",
        "data",
        "reference",
        "created_date",
        "start_date",
        "end_date",
        "message",
        "created_by",
    ),
    "Scheduler": ("machine_name", "last_update", "latest_trigger", "latest_trigger_time"),
    "SingleTrigger": (*_TRIGGER, "next_run"),
    "ScheduledTrigger": (*_TRIGGER, "cron_expr", "next_run"),
    "QueueTrigger": (*_TRIGGER, "queue_name", "min_batch_size"),
}


class Normaliser:
    """Keeps the id labels of one run."""

    def __init__(self) -> None:
        self.labels: dict[str, str] = {}

    def label(self, value: uuid.UUID | str) -> str:
        key = str(value).lower()
        if key not in self.labels:
            self.labels[key] = f"id{len(self.labels) + 1}"
        return self.labels[key]

    def error(self, error: BaseException) -> dict[str, Any]:
        return {"raised": sorted(name for name, cls in EXCEPTIONS if isinstance(error, cls))}

    def __call__(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, uuid.UUID):
            return self.label(value)
        if isinstance(value, str):
            if _SHOWN.match(value):
                moment = datetime.strptime(value, "%d-%m-%Y %H:%M:%S")
                if abs(moment - datetime.now()) < timedelta(minutes=10):
                    return "<now>"
                return value
            if value.startswith("gAAAAA"):  # a Fernet token: random, but its length is not
                return f"<token {len(value)}>"
            try:
                parsed = uuid.UUID(value)
            except ValueError:
                return value
            return self.label(parsed) if len(value) >= 32 else value
        if isinstance(value, bytes):
            return ["bytes", len(value)]
        if isinstance(value, datetime):
            if abs(value - datetime.now()) < timedelta(minutes=10):
                return "<now>"
            return value.isoformat()
        if isinstance(value, enum.Enum):
            return f"{type(value).__name__}.{value.name}"
        if isinstance(value, tuple):
            return ["tuple", *[self(item) for item in value]]
        if isinstance(value, list):
            return ["list", *[self(item) for item in value]]
        if isinstance(value, dict):
            return {"dict": sorted([self(k), self(v)] for k, v in value.items())}
        if isinstance(value, BaseException):
            return self.error(value)
        try:
            sa_inspect(value)
        except NoInspectionAvailable:
            return f"<{type(value).__name__}>"
        name = type(value).__name__
        columns = {key: self(getattr(value, key)) for key in ORIGINAL_COLUMNS[name]}
        return {"class": name, **columns}


def first_row_dicts(values: Any) -> Any:
    """`to_row_dict()` of each ORM object in a sequence (what the original's tables show)."""
    return [item.to_row_dict() for item in values]

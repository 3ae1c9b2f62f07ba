"""Database-paged lists (jobs, logs, queue elements): one way to sort, page and count.

The Orchestrator's tables, the HTTP API and the SDK all page on the server; each list
names its filters and its sortable columns, and this module does the rest the same way
for all of them: the original's sort keys (`'Log Time'`, `'none'`), "no limit" as None
or 0, a stable tie-break, and the total counted with the same filters.
"""

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from openorch.store import validation as v
from openorch.store.errors import BadInput

M = TypeVar("M")


def sort_column(columns: Mapping[str, Any], order_by: str | None, default: str) -> Any:
    """The column `order_by` names (normalised like the original's tables send it).

    Raises:
        BadInput: an unknown key (the message lists the known ones).
    """
    column = columns.get(v.order_key(order_by) or default)
    if column is None:
        raise BadInput(f"order_by must be one of {', '.join(columns)}; got {order_by!r}.")
    return column


def page_statement(
    model: type[M],
    filters: Sequence[ColumnElement[bool]],
    *,
    columns: Mapping[str, Any],
    default: str,
    order_by: str | None,
    order_desc: bool,
    offset: int,
    limit: int | None,
    tiebreak: Any = None,
) -> Select[Any]:
    """SELECT one page of `model` rows: checked offset and limit, sorted, tie-broken.

    Raises:
        BadInput: a negative offset or limit, or an unknown sort key.
    """
    v.check_int("offset", offset, minimum=0)
    page_size = v.check_limit(limit)
    column = sort_column(columns, order_by, default)
    ordering = [column.desc() if order_desc else column.asc()]
    if tiebreak is not None:
        ordering.append(tiebreak)
    statement = select(model).where(*filters).order_by(*ordering).offset(offset)
    return statement.limit(page_size) if page_size is not None else statement


def read_page(
    session: Session,
    statement: Select[Any],
    model: type[M],
    filters: Sequence[ColumnElement[bool]],
    include_count: bool,
) -> tuple[M, ...] | tuple[tuple[M, ...], int]:
    """The page's rows, and with `include_count` the total matching `filters` too."""
    rows: tuple[M, ...] = tuple(session.scalars(statement))
    if not include_count:
        return rows
    total = session.scalar(select(func.count()).select_from(model).where(*filters))
    return rows, int(total or 0)

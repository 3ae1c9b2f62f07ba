"""The SQL a real data-layer call sends, captured for EXPLAIN (tests of query plans)."""

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from openorch.store import Store


def captured_statements(
    store: Store, call: Callable[[], object], keep: Callable[[str], bool]
) -> list[tuple[str, Any]]:
    """(statement, parameters) of every statement `call()` ran that `keep` accepts."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if keep(statement):
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    return statements

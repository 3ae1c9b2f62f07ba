"""Column types shared by the models."""

import json
from typing import Any

from sqlalchemy import Dialect, String
from sqlalchemy.types import TypeDecorator


def parse_names(raw: str) -> list[str]:
    """Names from stored text: a JSON list (what both programs write); a bare name or a
    comma list typed into the database by hand is read as names too."""
    text = raw.strip()
    if not text:
        return []
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return [name.strip() for name in text.split(",") if name.strip()]
    if isinstance(parsed, list):
        return [str(name) for name in parsed]
    return [str(parsed)]


class StringList(TypeDecorator[list[str]]):
    """A list of strings stored as JSON text, as the original OpenOrchestrator's
    `StringList` stores it (`['M1']` <-> `'["M1"]'`, `[]` <-> `'[]'`, None <-> NULL), so
    rows written by either program read back as the same list in both."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = parse_names(value)
        return json.dumps(list(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str] | None:
        if value is None:
            return None
        return parse_names(str(value))

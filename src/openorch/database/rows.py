"""`to_row_dict()` support: the original OpenOrchestrator's table rows, for tools built
on its ORM helpers. openorch's own screens format in the UI layer, not here."""

from datetime import datetime


def shown(value: datetime | None, default: str = "N/A") -> str:
    """A datetime as the original's tables show it (`dd-mm-YYYY HH:MM:SS`), or `default`
    when there is none (the original's `datetime_util.format_datetime`)."""
    if not value:
        return default
    return value.strftime("%d-%m-%Y %H:%M:%S")


def format_datetime(datetime_: datetime | None, default: str = "N/A") -> str:
    """The original's `datetime_util.format_datetime` (same signature): `shown`."""
    return shown(datetime_, default)

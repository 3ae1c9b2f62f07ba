"""The original's `datetime_util` (re-exported from openorch)."""

from openorch.database.rows import format_datetime

__all__ = ["format_datetime"]

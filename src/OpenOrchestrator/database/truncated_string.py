"""The original's `truncated_string` (re-exported from openorch)."""

from openorch.store.runs.logs import truncate_message

__all__ = ["truncate_message"]

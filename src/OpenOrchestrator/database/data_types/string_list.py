"""The original's `StringList` column type (re-exported from openorch)."""

from openorch.database.types import StringList

__all__ = ["StringList"]

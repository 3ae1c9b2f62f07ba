"""Logs (re-exported from openorch)."""

from openorch.database.logs import Log, LogLevel

__all__ = ["Log", "LogLevel"]

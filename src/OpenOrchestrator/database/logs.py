"""Logs (re-exported from openorch)."""

from openorch.database.base import Base
from openorch.database.logs import Log, LogLevel
from OpenOrchestrator.common import datetime_util

__all__ = ["Log", "LogLevel"]

"""Schedulers (re-exported from openorch)."""

from openorch.database.base import Base
from openorch.database.schedulers import Scheduler
from OpenOrchestrator.common import datetime_util

__all__ = ["Scheduler"]

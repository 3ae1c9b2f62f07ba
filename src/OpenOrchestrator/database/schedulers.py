"""Schedulers (re-exported from openorch)."""

from openorch.database.schedulers import Scheduler

__all__ = ["Scheduler"]

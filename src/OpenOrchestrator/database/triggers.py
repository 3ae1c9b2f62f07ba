"""Triggers (re-exported from openorch)."""

from openorch.database.base import Base
from openorch.database.triggers import (
    QueueTrigger,
    ScheduledTrigger,
    SingleTrigger,
    Trigger,
    TriggerStatus,
    TriggerType,
)
from openorch.database.types import StringList
from OpenOrchestrator.common import datetime_util

__all__ = [
    "QueueTrigger",
    "ScheduledTrigger",
    "SingleTrigger",
    "Trigger",
    "TriggerStatus",
    "TriggerType",
]

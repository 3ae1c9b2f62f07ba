"""Triggers (re-exported from openorch)."""

from openorch.database.triggers import (
    QueueTrigger,
    ScheduledTrigger,
    SingleTrigger,
    Trigger,
    TriggerStatus,
    TriggerType,
)

__all__ = [
    "QueueTrigger",
    "ScheduledTrigger",
    "SingleTrigger",
    "Trigger",
    "TriggerStatus",
    "TriggerType",
]

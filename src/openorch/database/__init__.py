"""The ORM models: the tables every openorch program (and the original OpenOrchestrator)
shares. The schema is a contract (see docs/database.md); never rename or narrow a column."""

from openorch.database.alerts import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertRecipients,
    AlertRule,
    WatchdogClock,
    WatchdogLease,
)
from openorch.database.base import Base
from openorch.database.constants import Constant, Credential
from openorch.database.jobs import Job, JobStatus
from openorch.database.logs import Log, LogLevel
from openorch.database.queues import QueueElement, QueueStatus
from openorch.database.schedulers import Scheduler
from openorch.database.triggers import (
    QueueTrigger,
    ScheduledTrigger,
    SingleTrigger,
    Trigger,
    TriggerStatus,
    TriggerType,
)

__all__ = [
    "Alert",
    "AlertChannel",
    "AlertDelivery",
    "AlertRecipients",
    "AlertRule",
    "Base",
    "Constant",
    "Credential",
    "Job",
    "JobStatus",
    "Log",
    "LogLevel",
    "QueueElement",
    "QueueStatus",
    "QueueTrigger",
    "ScheduledTrigger",
    "Scheduler",
    "SingleTrigger",
    "Trigger",
    "TriggerStatus",
    "TriggerType",
    "WatchdogClock",
    "WatchdogLease",
]

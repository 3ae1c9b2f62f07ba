"""The ORM models: the tables every openorch program (and the original OpenOrchestrator)
shares. The schema is a contract (see docs/database.md); never rename or narrow a column."""

from openorch.database.alerts import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertRecipients,
    AlertRule,
    WatchdogLease,
)
from openorch.database.api import ApiAuditEntry, ApiScope, ApiToken, RunRequest, RunRequestStatus
from openorch.database.audit import AuditEntry
from openorch.database.base import Base
from openorch.database.calendars import Calendar, CalendarDay
from openorch.database.constants import Constant, Credential
from openorch.database.jobs import Job, JobOutcome, JobStatus
from openorch.database.logs import Log, LogLevel
from openorch.database.operations import (
    JobCounter,
    OpsState,
    PruneRun,
    PruneRunKind,
    RetentionPolicy,
)
from openorch.database.pipelines import PipelineRun, PipelineStepRun
from openorch.database.queues import QueueElement, QueueSettings, QueueStatus
from openorch.database.review import ElementEvent, ReviewItem
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
    "ApiAuditEntry",
    "ApiScope",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Calendar",
    "CalendarDay",
    "Constant",
    "Credential",
    "ElementEvent",
    "Job",
    "JobCounter",
    "JobOutcome",
    "JobStatus",
    "Log",
    "LogLevel",
    "OpsState",
    "PipelineRun",
    "PipelineStepRun",
    "PruneRun",
    "PruneRunKind",
    "QueueElement",
    "QueueSettings",
    "QueueStatus",
    "QueueTrigger",
    "RetentionPolicy",
    "ReviewItem",
    "RunRequest",
    "RunRequestStatus",
    "ScheduledTrigger",
    "Scheduler",
    "SingleTrigger",
    "Trigger",
    "TriggerStatus",
    "TriggerType",
    "WatchdogLease",
]

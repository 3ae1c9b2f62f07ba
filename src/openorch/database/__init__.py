"""The ORM models: the tables every openorch program (and the original OpenOrchestrator)
shares. The schema is a contract (see docs/database.md); never rename or narrow a column."""

from typing import TYPE_CHECKING, Any

from openorch.database.base import Base
from openorch.database.calendars import Calendar, CalendarDay
from openorch.database.constants import Constant, Credential
from openorch.database.jobs import Job, JobOutcome, JobStatus
from openorch.database.logs import Log, LogLevel
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

if TYPE_CHECKING:
    from openorch.database.alerts import (
        Alert,
        AlertChannel,
        AlertDelivery,
        AlertRecipients,
        AlertRule,
        WatchdogLease,
    )
    from openorch.database.api import (
        ApiAuditEntry,
        ApiScope,
        ApiToken,
        RunRequest,
        RunRequestStatus,
    )
    from openorch.database.audit import AuditEntry
    from openorch.database.operations import (
        JobCounter,
        OpsState,
        PruneRun,
        PruneRunKind,
        RetentionPolicy,
    )

#: Models only the lazily loaded `Store` features use (store/features.py: alerts, the
#: API, the audit trail, retention and job counters): mapped on first use, not in every
#: robot process (SDK start-up time). Nothing else refers to
#: their tables (no foreign keys), so the other models map without them.
_LAZY_MODELS = {
    **dict.fromkeys(
        ("Alert", "AlertChannel", "AlertDelivery", "AlertRecipients", "AlertRule", "WatchdogLease"),
        "openorch.database.alerts",
    ),
    **dict.fromkeys(
        ("ApiAuditEntry", "ApiScope", "ApiToken", "RunRequest", "RunRequestStatus"),
        "openorch.database.api",
    ),
    "AuditEntry": "openorch.database.audit",
    **dict.fromkeys(
        ("JobCounter", "OpsState", "PruneRun", "PruneRunKind", "RetentionPolicy"),
        "openorch.database.operations",
    ),
}


def __getattr__(name: str) -> Any:
    """The feature models, imported on first use."""
    module = _LAZY_MODELS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def load_all_models() -> None:
    """Map every model, so `Base.metadata` holds every table: call it before any work on
    the whole schema (migrations, `openorch copy`, `create_all`, schema comparisons)."""
    import openorch.database.alerts
    import openorch.database.api
    import openorch.database.audit
    import openorch.database.operations  # noqa: F401


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
    "load_all_models",
]

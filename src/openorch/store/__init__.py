"""The data layer: the one place in openorch that talks to the database.

`Store` is built from a connection string or an `Engine` and offers every operation
the SDK, the Scheduler and the Orchestrator need. It returns detached ORM objects whose
attributes stay readable after the call, and checks its input (raising `ValueError`
that names the field) before writing anything.
"""

from openorch.masking import mask
from openorch.store.alert_findings import AlertFindingStore
from openorch.store.alerts import AlertStore
from openorch.store.api_tokens import ApiTokenStore
from openorch.store.calendars import CalendarStore, CalendarSummary
from openorch.store.core import HEAD_REVISION, ORIGINAL_HEAD_REVISION
from openorch.store.engine import (
    ConnectionURL,
    build_engine,
    describe_connection_error,
    parse_url,
)
from openorch.store.job_counters import JobCounterStore
from openorch.store.jobs import JobStore
from openorch.store.logs import LogStore, truncate_message
from openorch.store.metrics import MetricFigures, MetricsStore
from openorch.store.opening import ConnectError, open_store
from openorch.store.outcomes import OutcomeStore
from openorch.store.overview import OverviewStore
from openorch.store.pipelines import (
    LostElementError,
    PipelineProgress,
    PipelineStore,
    PipelineView,
)
from openorch.store.queues import (
    BulkCreated,
    DuplicateReferenceError,
    QueueAdminStore,
    QueueOverview,
    release_job_elements,
)
from openorch.store.retention import PruneResult, RetentionStore
from openorch.store.retention_policy import PruneRunView, RetentionPolicyStore
from openorch.store.run_requests import RunRequestStore
from openorch.store.schedulers import SchedulerStore
from openorch.store.table_sizes import TableSizes, TableSizeStore
from openorch.store.triggers import TriggerStore
from openorch.store.values import ValueStore


class Store(
    TriggerStore,
    CalendarStore,
    LogStore,
    JobStore,
    OutcomeStore,
    ValueStore,
    QueueAdminStore,
    PipelineStore,
    SchedulerStore,
    RunRequestStore,
    ApiTokenStore,
    AlertStore,
    AlertFindingStore,
    OverviewStore,
    TableSizeStore,
    JobCounterStore,
    MetricsStore,
    RetentionPolicyStore,
    RetentionStore,
):
    """Every database operation openorch has, over one engine.

    Example:
        >>> store = Store("sqlite:///orchestrator.db", crypto_key=key)
        >>> store.create_constant("greeting", "hello")

    Programs open it with `Store.open(...)`, which also checks the key, the tables and
    the revision; the plain constructor is for code that has already done that (tests,
    benchmarks, the SDK inside a process its Scheduler started).
    """

    open = staticmethod(open_store)


__all__ = [
    "HEAD_REVISION",
    "ORIGINAL_HEAD_REVISION",
    "BulkCreated",
    "CalendarSummary",
    "ConnectError",
    "ConnectionURL",
    "DuplicateReferenceError",
    "LostElementError",
    "MetricFigures",
    "MetricsStore",
    "PipelineProgress",
    "PipelineView",
    "PruneResult",
    "PruneRunView",
    "QueueOverview",
    "RetentionStore",
    "Store",
    "TableSizes",
    "build_engine",
    "describe_connection_error",
    "mask",
    "parse_url",
    "release_job_elements",
    "truncate_message",
]

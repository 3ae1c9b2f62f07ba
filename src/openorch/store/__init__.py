"""The data layer: the one place in openorch that talks to the database.

`Store` is built from a connection string or an `Engine` and offers every operation
the SDK, the Scheduler and the Orchestrator need. It returns detached ORM objects whose
attributes stay readable after the call, and checks its input (raising `ValueError`
that names the field) before writing anything.
"""

from typing import TYPE_CHECKING, Any

from openorch.masking import mask
from openorch.store.core import HEAD_REVISION, ORIGINAL_HEAD_REVISION
from openorch.store.engine import (
    ConnectionURL,
    build_engine,
    describe_connection_error,
    parse_url,
)
from openorch.store.errors import (
    AlreadyDecided,
    ConnectError,
    DuplicateReferenceError,
    LostElementError,
)
from openorch.store.opening import open_store
from openorch.store.queues.admin import QueueAdminStore, QueueOverview
from openorch.store.queues.bulk import BulkCreated
from openorch.store.queues.counts import QueueCountStore
from openorch.store.queues.elements import QueueStore
from openorch.store.queues.history import ElementHistoryStore, TimelineEntry
from openorch.store.queues.lifecycle import release_job_elements
from openorch.store.queues.pipeline_review import PipelineReviewStore
from openorch.store.queues.pipelines import (
    PipelineProgress,
    PipelineStore,
    PipelineView,
)
from openorch.store.queues.review import ReviewEntry, ReviewFilter, ReviewStore
from openorch.store.queues.search import SearchStore
from openorch.store.queues.settings import QueueSettingsStore
from openorch.store.runs.jobs import JobStore
from openorch.store.runs.logs import LogStore, truncate_message
from openorch.store.runs.outcomes import OutcomeStore
from openorch.store.values import ValueStore

if TYPE_CHECKING:
    from openorch.store.alerts.config import AlertConfigStore
    from openorch.store.alerts.deliveries import AlertStore
    from openorch.store.alerts.findings import AlertFindingStore
    from openorch.store.api_tokens import ApiTokenStore
    from openorch.store.audit import AuditStore
    from openorch.store.ops.metrics import MetricFigures, MetricsStore
    from openorch.store.ops.overview import OverviewStore
    from openorch.store.ops.retention import PruneResult, RetentionStore
    from openorch.store.ops.retention_policy import PruneRunView, RetentionPolicyStore
    from openorch.store.ops.table_sizes import TableSizes, TableSizeStore
    from openorch.store.runs.calendars import CalendarStore, CalendarSummary
    from openorch.store.runs.counters import JobCounterStore
    from openorch.store.runs.run_requests import RunRequestStore
    from openorch.store.runs.schedulers import SchedulerStore
    from openorch.store.runs.triggers import TriggerStore

    class LazyFeatures(
        TriggerStore,
        CalendarStore,
        SchedulerStore,
        RunRequestStore,
        ApiTokenStore,
        AuditStore,
        AlertStore,
        AlertConfigStore,
        AlertFindingStore,
        OverviewStore,
        TableSizeStore,
        JobCounterStore,
        MetricsStore,
        RetentionPolicyStore,
        RetentionStore,
    ):
        """What type checkers see: the feature mixins themselves (store/features.py)."""

else:
    # Loaded on first use: robot processes import Store and never call these
    # (start-up time; store/features.py lists them and explains how).
    from openorch.store.features import LazyFeatures


class Store(
    # runs/ (triggers, calendars and Schedulers are in LazyFeatures)
    LogStore,
    JobStore,
    OutcomeStore,
    # the core
    ValueStore,
    # queues/
    QueueAdminStore,
    QueueStore,
    PipelineStore,
    ReviewStore,
    PipelineReviewStore,
    ElementHistoryStore,
    # triggers, calendars, Schedulers, run requests, API tokens, audit, alerts, Overview,
    # metrics, retention
    LazyFeatures,
    # queues/, after LazyFeatures: the Overview's and the metrics' mixins build on
    # QueueCountStore, and a class comes after every class that builds on it.
    QueueCountStore,
    SearchStore,
    QueueSettingsStore,
):
    """Every database operation openorch has, over one engine.

    Example:
        >>> store = Store("sqlite:///orchestrator.db", crypto_key=key)
        >>> store.create_constant("greeting", "hello")

    Programs open it with `Store.open(...)`, which also checks the key, the tables and
    the revision; the plain constructor is for code that has already done that (tests,
    benchmarks, the SDK inside a process its Scheduler started).
    """

    open = classmethod(open_store)


#: Names this package exports from the lazily loaded feature modules.
_LAZY_NAMES = {
    "CalendarSummary": "openorch.store.runs.calendars",
    "PruneRunView": "openorch.store.ops.retention_policy",
    "TableSizes": "openorch.store.ops.table_sizes",
    "MetricFigures": "openorch.store.ops.metrics",
    "MetricsStore": "openorch.store.ops.metrics",
    "PruneResult": "openorch.store.ops.retention",
    "RetentionStore": "openorch.store.ops.retention",
}


def __getattr__(name: str) -> Any:
    """`from openorch.store import MetricsStore` and the like, imported on first use."""
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "HEAD_REVISION",
    "ORIGINAL_HEAD_REVISION",
    "AlreadyDecided",
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
    "ReviewEntry",
    "ReviewFilter",
    "Store",
    "TableSizes",
    "TimelineEntry",
    "build_engine",
    "describe_connection_error",
    "mask",
    "parse_url",
    "release_job_elements",
    "truncate_message",
]

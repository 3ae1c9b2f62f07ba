"""The `Store` mixins only the Orchestrator, the Scheduler and the API use, loaded on
first use instead of with every robot process.

Every RPA process imports the SDK, which imports `Store`; triggers, calendars,
Schedulers, alerts, the Overview, metrics, retention, API tokens and run requests are not
what a robot calls (a robot that pauses its trigger loads them then), yet
importing their modules was most of the SDK's import growth (docs/benchmarks.md, "SDK
import"). `Store` therefore lists `LazyFeatures` as its last base instead of those
mixins. The first time a `Store` (or the class) is asked for a name its eager bases do
not have, `load()` imports the feature modules and makes them `LazyFeatures`' bases;
Python then recomputes `Store`'s method resolution order, so every later lookup is an
ordinary attribute lookup, with the same precedence the mixins had as `Store`'s last
bases. For type checkers `Store` lists the mixins themselves (store/__init__.py).

Two rules for a feature mixin. It must not subclass a mixin `Store` lists before
`LazyFeatures` (the recomputed order would be inconsistent; Python raises TypeError on
`load()`): one it builds on goes after `LazyFeatures` in `Store`'s list, as
`QueueCountStore` does for the Overview's and the metrics' mixins. And it has no
`__init__`: a `Store` made before the load never runs it, so state it keeps is made on
first use (`SchedulerStore._clock_offsets`); `load()` refuses one that has.
"""

import importlib
import threading
from typing import Any

#: (module, class) of each feature mixin, in the order `Store` lists them.
FEATURES: tuple[tuple[str, str], ...] = (
    ("openorch.store.runs.triggers", "TriggerStore"),
    ("openorch.store.runs.calendars", "CalendarStore"),
    ("openorch.store.runs.schedulers", "SchedulerStore"),
    ("openorch.store.runs.run_requests", "RunRequestStore"),
    ("openorch.store.api_tokens", "ApiTokenStore"),
    ("openorch.store.audit", "AuditStore"),
    ("openorch.store.alerts.deliveries", "AlertStore"),
    ("openorch.store.alerts.config", "AlertConfigStore"),
    ("openorch.store.alerts.findings", "AlertFindingStore"),
    ("openorch.store.ops.overview", "OverviewStore"),
    ("openorch.store.ops.table_sizes", "TableSizeStore"),
    ("openorch.store.runs.counters", "JobCounterStore"),
    ("openorch.store.ops.metrics", "MetricsStore"),
    ("openorch.store.ops.retention_policy", "RetentionPolicyStore"),
    ("openorch.store.ops.retention", "RetentionStore"),
)

_lock = threading.Lock()
_loaded = False


class _LoadOnMiss(type):
    """Metaclass: a class-level lookup that fails (`Store.get_overview`) loads the
    features once and looks again."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        load()  # waits for a load another thread began
        return type.__getattribute__(cls, name)  # no second miss: AttributeError


class _NotLoaded:
    """`LazyFeatures`' base until `load()`: a class of Python's own kind (CPython lets a
    class change its bases only between classes of the same layout)."""


class LazyFeatures(_NotLoaded, metaclass=_LoadOnMiss):
    """Stands in for the feature mixins until `load()` makes them its bases."""

    def __getattr__(self, name: str) -> Any:
        # Called only when ordinary lookup failed: load (once; a load another thread
        # began is waited for), then look again without coming back here.
        if not name.startswith("__"):
            load()
        return object.__getattribute__(self, name)


def load() -> bool:
    """Import the feature mixins and make them `LazyFeatures`' bases (once; thread-safe:
    a second thread waits until the first has finished). True when this call loaded
    them, False when they were loaded already.

    Raises:
        TypeError: a feature mixin subclasses a mixin `Store` lists before `LazyFeatures`,
            or has an `__init__` (a `Store` made before the load would never run it).
    """
    global _loaded
    if _loaded:
        return False
    with _lock:
        if _loaded:
            return False
        bases = tuple(getattr(importlib.import_module(module), name) for module, name in FEATURES)
        for base in bases:
            if "__init__" in vars(base):
                # A Store made before the load never ran it: state goes in on first use.
                raise TypeError(f"{base.__name__} is loaded on first use: it cannot have __init__")
        LazyFeatures.__bases__ = bases
        _loaded = True
    return True

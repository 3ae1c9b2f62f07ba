"""What a Scheduler needs to know: where the database is, who it is, and how it runs.

Kept apart from the engine so the headless CLI and the Tk window build the same object
from their own inputs (flags and environment, or the Settings tab).
"""

import argparse
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path

from openorch import config as app_config

# Seconds without a heartbeat after which a Scheduler counts as dead: the data layer's,
# which judges liveness. Heartbeats have their own thread, so a slow poll (a long git
# clone) never looks like a death.
from openorch.store.ops.retention import parse_policy
from openorch.store.runs.schedulers import DEFAULT_HEARTBEAT_TIMEOUT as DEFAULT_HEARTBEAT_TIMEOUT
from openorch.store.runs.schedulers import RunIdentity

#: Seconds between polls. The original polls every 6 s; 2 s keeps the dispatch latency
#: (due time → process running) around a second while costing ~6 small queries a poll.
DEFAULT_POLL_INTERVAL = 2.0


#: Seconds a stopping Scheduler waits for running processes before killing them.
DEFAULT_GRACE_PERIOD = 60.0

#: Seconds between two evaluations of the alert rules by the fleet's watchdog.
DEFAULT_WATCHDOG_INTERVAL = 30.0

#: How many jobs' stdout/stderr files the logs folder keeps.
DEFAULT_KEEP_LOGS = 200


def default_name() -> str:
    """This machine's name, the original's default scheduler name."""
    return platform.node() or "scheduler"


#: Overrides the host name a run records (tests that play "another machine"; containers
#: that share one host name but not their processes).
ENV_HOST = "OPENORCH_SCHEDULER_HOST"


def this_run() -> RunIdentity:
    """Where this process runs: host name (`OPENORCH_SCHEDULER_HOST` overrides it) and
    pid, recorded with the run so a second Scheduler under the name can tell whether
    it still runs."""
    host = os.environ.get(ENV_HOST) or platform.node() or "unknown"
    return RunIdentity(host[:255], os.getpid())


def _default_clone_dir() -> Path:
    return app_config.data_dir() / "scheduler" / "clones"


def _default_log_dir() -> Path:
    return app_config.data_dir() / "scheduler" / "logs"


@dataclass(frozen=True)
class SchedulerSettings:
    """Everything one Scheduler is configured with (immutable).

    Raises (on construction):
        ValueError: a number is out of range or the name is empty.
    """

    conn_string: str
    crypto_key: str
    name: str = field(default_factory=default_name)
    exclusive: bool = False
    poll_interval: float = DEFAULT_POLL_INTERVAL
    python: str = sys.executable
    clone_dir: Path = field(default_factory=_default_clone_dir)
    log_dir: Path = field(default_factory=_default_log_dir)
    grace_period: float = DEFAULT_GRACE_PERIOD
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT
    keep_logs: int = DEFAULT_KEEP_LOGS
    watchdog: bool = True
    watchdog_interval: float = DEFAULT_WATCHDOG_INTERVAL
    #: Days to keep per kind of data (`--prune logs=90`); pruned by the watchdog holder.
    prune: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise ValueError("The scheduler name is empty.")
        if len(self.name) > 100:
            raise ValueError("The scheduler name is longer than 100 characters.")
        if not 0.05 <= self.poll_interval <= 3600:
            raise ValueError("The poll interval must be between 0.05 and 3600 seconds.")
        if self.grace_period < 0:
            raise ValueError("The grace period cannot be negative.")
        if self.heartbeat_timeout < 3 * self.poll_interval:
            raise ValueError(
                "The heartbeat timeout must be at least three poll intervals, or live "
                "Schedulers would be taken for dead."
            )
        if not 1 <= self.watchdog_interval <= 3600:
            raise ValueError("The watchdog interval must be between 1 and 3600 seconds.")
        if self.keep_logs < 1:
            raise ValueError("keep_logs must be at least 1.")
        object.__setattr__(self, "clone_dir", Path(self.clone_dir))
        object.__setattr__(self, "log_dir", Path(self.log_dir))


#: Exit code for a configuration the Scheduler cannot start with (both UIs use it).
EXIT_CONFIG = 2

#: Exit code when the name is held by a live Scheduler (start with --replace or --name).
EXIT_NAME_IN_USE = 3


def settings_from_args(args: argparse.Namespace, conn: str, key: str) -> SchedulerSettings:
    """Scheduler settings from the `openorch s` flags (defaults where a flag is absent).

    Raises:
        ValueError: a value is out of range.
    """
    changes: dict[str, object] = {
        "name": getattr(args, "name", None) or default_name(),
        "exclusive": bool(getattr(args, "exclusive", False)),
        "poll_interval": _given(args, "poll_interval", DEFAULT_POLL_INTERVAL),
        "grace_period": _given(args, "grace_period", DEFAULT_GRACE_PERIOD),
        "heartbeat_timeout": _given(args, "heartbeat_timeout", DEFAULT_HEARTBEAT_TIMEOUT),
        "watchdog": not getattr(args, "no_watchdog", False),
        "watchdog_interval": _given(args, "watchdog_interval", DEFAULT_WATCHDOG_INTERVAL),
        "prune": tuple(parse_policy(getattr(args, "prune", None) or []).items()),
    }
    if getattr(args, "python", None):
        changes["python"] = args.python
    if getattr(args, "clone_dir", None):
        changes["clone_dir"] = args.clone_dir
    return SchedulerSettings(conn_string=conn, crypto_key=key, **changes)  # type: ignore[arg-type]


def _given(args: argparse.Namespace, name: str, default: float) -> float:
    value = getattr(args, name, None)
    return default if value is None else float(value)

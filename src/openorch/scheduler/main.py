"""Entry point of `openorch s`: build settings from flags and the environment, then run
headless or open the Tk window. Tk is imported only for the window."""

import argparse
import sys

from openorch import config as app_config
from openorch.scheduler.config import (
    DEFAULT_GRACE_PERIOD,
    DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WATCHDOG_INTERVAL,
    SchedulerSettings,
    default_name,
)

EXIT_CONFIG = 2


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
    }
    if getattr(args, "python", None):
        changes["python"] = args.python
    if getattr(args, "clone_dir", None):
        changes["clone_dir"] = args.clone_dir
    return SchedulerSettings(conn_string=conn, crypto_key=key, **changes)  # type: ignore[arg-type]


def _given(args: argparse.Namespace, name: str, default: float) -> float:
    value = getattr(args, name, None)
    return default if value is None else float(value)


def run(args: argparse.Namespace) -> int:
    """Run the Scheduler as `openorch s` was asked to; returns the exit code."""
    if getattr(args, "headless", False):
        return _run_headless(args)
    from openorch.scheduler.window import run_window

    return run_window(args)


def _run_headless(args: argparse.Namespace) -> int:
    from openorch.scheduler.headless import run_headless

    try:
        resolved = app_config.resolve(args.conn, args.key)
    except (ValueError, RuntimeError, OSError) as error:
        print(f"openorch scheduler: cannot start: {error}", file=sys.stderr)
        return EXIT_CONFIG
    assert resolved is not None  # local mode allowed: resolve() never returns None here
    try:
        settings = settings_from_args(args, resolved.conn_string, resolved.crypto_key)
    except ValueError as error:
        print(f"openorch scheduler: cannot start: {error}", file=sys.stderr)
        return EXIT_CONFIG
    note = f"local mode: {resolved.database_path}" if resolved.local else None
    return run_headless(settings, local_note=note)

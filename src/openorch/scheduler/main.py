"""Entry point of `openorch s`: build settings from flags and the environment, then run
headless or open the Tk window. Tk is imported only for the window."""

import argparse
import sys

from openorch import config as app_config
from openorch.scheduler.config import EXIT_CONFIG, settings_from_args


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
    replace = bool(getattr(args, "replace", False))
    return run_headless(settings, local_note=note, create=resolved.local, replace=replace)

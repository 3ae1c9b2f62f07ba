"""The `openorch` command: `o` (Orchestrator), `s` (Scheduler), `api` (HTTP API),
`upgrade` (migrations), `copy` (move a database), `backup` (copy a SQLite database).

Each program is imported only when its command runs, so `openorch upgrade` and the SDK
never load NiceGUI or Tk.
"""

import argparse
import sys
from collections.abc import Callable, Sequence

from openorch import __version__
from openorch.config import KEY_HELP_SUFFIX, join_key_values

EXIT_USAGE = 2


def _add_log_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text (default) or json: one JSON object a line for log shippers (docs/operations.md)",
    )


def _use_log_format(args: argparse.Namespace, program: str) -> None:
    """Switch this process to JSON lines before the program prints anything."""
    if getattr(args, "log_format", "text") == "json":
        from openorch.json_logs import install

        install(program)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="openorch",
        description="openorch: a self-hosted orchestrator for Python RPA.",
    )
    parser.add_argument("--version", action="version", version=f"openorch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    orchestrator = commands.add_parser(
        "o", aliases=["orchestrator"], help="start the Orchestrator admin app (NiceGUI)"
    )
    orchestrator.add_argument(
        "-p", "--port", type=int, help="port to listen on (default: a free one)"
    )
    orchestrator.add_argument(
        "-d", "--dont-show", action="store_true", help="do not open a browser window"
    )
    orchestrator.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1). Any other address needs a token "
        "set by you (OPENORCH_ORCHESTRATOR_TOKEN or --token-file); see docs/security.md",
    )
    orchestrator.add_argument(
        "--token-file",
        help="file holding the login token (default: OPENORCH_ORCHESTRATOR_TOKEN, else a "
        "random token made at start and printed with the address)",
    )
    orchestrator.add_argument(
        "--sign-in-file",
        metavar="FILE",
        help="sign-in settings (OpenID Connect, LDAP and roles; mode 0600). Default: "
        "OPENORCH_SIGN_IN_FILE, else sign-in.toml in the data folder; none: the token "
        "only. See docs/sign-in.md",
    )
    orchestrator.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME[:PORT]",
        help="another name browsers use to reach the server, e.g. a reverse proxy's "
        "public name (repeatable); other Host headers and Origins are refused",
    )
    orchestrator.add_argument(
        "--conn", help="connection string (default: environment or local mode)"
    )
    orchestrator.add_argument(
        "--key", help="encryption key (default: environment or local mode)" + KEY_HELP_SUFFIX
    )
    orchestrator.add_argument(
        "--api",
        action="store_true",
        help="also serve the HTTP API at /api/v1 (on the database of --conn, the "
        "environment or local mode)",
    )
    _add_log_format(orchestrator)
    orchestrator.set_defaults(handler=_run_orchestrator)

    scheduler = commands.add_parser(
        "s", aliases=["scheduler"], help="start the Scheduler (Tk window, or --headless)"
    )
    scheduler.add_argument("--headless", action="store_true", help="run without a window")
    scheduler.add_argument("--conn", help="connection string (env OpenOrchestratorConnString)")
    scheduler.add_argument(
        "--key", help="encryption key (env OpenOrchestratorKey)" + KEY_HELP_SUFFIX
    )
    scheduler.add_argument("--name", help="scheduler name (default: this machine's name)")
    scheduler.add_argument(
        "--replace",
        action="store_true",
        help="take the name over even from a running scheduler (its processes are killed)",
    )
    scheduler.add_argument(
        "--poll-interval", type=float, default=None, help="seconds between polls (default 2)"
    )
    scheduler.add_argument(
        "--exclusive",
        action="store_true",
        help="only run triggers whose whitelist names this scheduler",
    )
    scheduler.add_argument("--python", help="interpreter that runs processes (default: this one)")
    scheduler.add_argument("--clone-dir", help="folder for git clones (default: a per-user folder)")
    scheduler.add_argument(
        "--grace-period",
        type=float,
        default=None,
        help="seconds to wait for running processes when stopping (default 60)",
    )
    scheduler.add_argument(
        "--heartbeat-timeout",
        type=float,
        default=None,
        help="seconds of silence after which another scheduler counts as dead (default 120)",
    )
    scheduler.add_argument(
        "--watchdog-interval",
        type=float,
        default=None,
        help="seconds between evaluations of the alert rules (default 30)",
    )
    scheduler.add_argument(
        "--no-watchdog",
        action="store_true",
        help="never evaluate alert rules or send alerts from this scheduler",
    )
    _add_log_format(scheduler)
    scheduler.add_argument(
        "--prune",
        action="append",
        metavar="KIND=DAYS",
        help="retention: days to keep logs, jobs, queue_elements, alerts, api_audit or "
        "run_requests (repeatable; replaces the policy stored in the database, Settings tab, "
        "for this Scheduler); the Scheduler holding the watchdog lease prunes hourly",
    )
    scheduler.set_defaults(handler=_run_scheduler)

    upgrade = commands.add_parser(
        "upgrade", aliases=["u"], help="create or migrate a database to the newest revision"
    )
    upgrade.add_argument("conn", metavar="CONN", help="SQLAlchemy connection string")
    upgrade.add_argument(
        "-n", "--new", action="store_true", help="create a fresh database without questions"
    )
    upgrade.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    upgrade.set_defaults(handler=_run_upgrade)

    copy = commands.add_parser(
        "copy",
        help="copy every row of an openorch database into a new, empty one "
        "(e.g. local mode to PostgreSQL)",
    )
    copy.add_argument(
        "source", metavar="SOURCE", help="connection string, or 'local' for local mode's database"
    )
    copy.add_argument(
        "target",
        metavar="TARGET",
        help="connection string of an empty database (its tables are created if missing)",
    )
    copy.add_argument(
        "--batch-size", type=int, default=None, help="rows per round trip (default 2000)"
    )
    copy.set_defaults(handler=_run_copy)

    api = commands.add_parser("api", help="serve the HTTP API (FastAPI; docs at /api/docs)")
    api.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; to open it to a network, put a "
        "TLS-terminating reverse proxy in front, see docs/api.md)",
    )
    api.add_argument("-p", "--port", type=int, default=None, help="port (default 8321)")
    api.add_argument("--conn", help="connection string (default: environment or local mode)")
    api.add_argument(
        "--heartbeat-timeout",
        type=float,
        default=None,
        help="heartbeat timeout (seconds) for Schedulers whose row declares none, e.g. an "
        "original 3.0.0 Scheduler (default 120); the others by their own",
    )
    api.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME[:PORT]",
        help="a name clients use to reach the server besides its addresses and localhost, "
        "e.g. a reverse proxy's public name (repeatable); other Host headers are refused",
    )
    api.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="proxies whose X-Forwarded-* headers are trusted (default 127.0.0.1)",
    )
    api.add_argument(
        "--metrics-allow",
        action="append",
        metavar="ADDRESS[/BITS]",
        help="addresses that may scrape /metrics without a token, e.g. your Prometheus "
        "server (repeatable); others need a token with the METRICS scope",
    )
    _add_log_format(api)
    api.set_defaults(handler=_run_api)

    backup = commands.add_parser(
        "backup",
        help="copy a SQLite database consistently while programs run, with its key "
        "(PostgreSQL/SQL Server: see docs/operations.md)",
    )
    backup.add_argument(
        "destination",
        metavar="DEST",
        help="a new file, or a folder to put openorch-<time>.db in; the key goes to DEST.key",
    )
    backup.add_argument("--conn", help="connection string (default: environment or local mode)")
    backup.add_argument("--key", help="encryption key (default: environment or local mode)")
    backup.add_argument(
        "--no-key", action="store_true", help="do not write the key file beside the copy"
    )
    backup.set_defaults(handler=_run_backup)

    prune = commands.add_parser(
        "prune", help="delete rows older than a number of days, per kind (docs/operations.md)"
    )
    prune.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="KIND=DAYS",
        help="days to keep one kind: logs, jobs, queue_elements, alerts, api_audit, "
        "run_requests (repeatable; kinds not named are kept whole). Without --keep: the "
        "policy stored in the database (Settings tab)",
    )
    prune.add_argument("--dry-run", action="store_true", help="only count what would go")
    prune.add_argument("--conn", help="connection string (default: environment or local mode)")
    prune.add_argument(
        "--batch-size", type=int, default=200, help="rows per short transaction (default 200)"
    )
    prune.set_defaults(handler=_run_prune)

    search_index = commands.add_parser(
        "search-index",
        help="make or rebuild the substring-search index (opt-in on SQLite)",
    )
    search_index.add_argument(
        "--conn", help="connection string (default: environment or local mode)"
    )
    search_index.add_argument(
        "--rebuild",
        action="store_true",
        help="index every element again (writers wait; SQLite: after a VACUUM) instead of "
        "indexing the elements still waiting",
    )
    search_index.set_defaults(handler=_run_search_index)

    key = commands.add_parser("key", help="print a new encryption key")
    key.set_defaults(handler=_run_key)
    return parser


# Each command imports its program inside its handler (start-up time: `openorch s` never
# loads NiceGUI, `openorch key` loads neither a UI nor the data layer's features).


def _run_orchestrator(args: argparse.Namespace) -> int:
    _use_log_format(args, "orchestrator")
    from openorch.orchestrator.main import run

    return run(args)


def _run_scheduler(args: argparse.Namespace) -> int:
    _use_log_format(args, "scheduler")
    from openorch.scheduler.main import run

    return run(args)


def _run_api(args: argparse.Namespace) -> int:
    _use_log_format(args, "api")
    from openorch.api.main import run

    return run(args)


def _run_upgrade(args: argparse.Namespace) -> int:
    from openorch.upgrade import run_upgrade

    return run_upgrade(args.conn, new=args.new, yes=args.yes)


def _run_copy(args: argparse.Namespace) -> int:
    from openorch.copy_command import run_copy

    if args.batch_size is None:
        return run_copy(args.source, args.target)
    return run_copy(args.source, args.target, batch_size=args.batch_size)


def _run_backup(args: argparse.Namespace) -> int:
    from openorch.backup_command import run_backup

    return run_backup(args.destination, args.conn, args.key, with_key=not args.no_key)


def _run_prune(args: argparse.Namespace) -> int:
    from openorch.prune_command import run_prune

    return run_prune(args.keep, args.conn, dry_run=args.dry_run, batch_size=args.batch_size)


def _run_search_index(args: argparse.Namespace) -> int:
    from openorch.search_index_command import run_search_index

    return run_search_index(args.conn, rebuild=args.rebuild)


def _run_key(_args: argparse.Namespace) -> int:
    from openorch.crypto import generate_key

    print(generate_key().decode())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `openorch` console script and `python -m openorch`."""
    parser = build_parser()
    args = parser.parse_args(join_key_values(sys.argv[1:] if argv is None else argv))
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130

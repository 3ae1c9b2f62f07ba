"""`openorch prune [--keep KIND=DAYS ...] [--dry-run]`: delete old rows once, by hand or
from cron.

The deleting is the data layer's (`store/ops/retention.py`: small batches, short
transactions, referenced rows kept); this module takes the policy from the command line
or, without `--keep`, the one stored in the database (Settings tab), prints one line per
kind (what, how many, how long) and the exit code: 0 done, 2 refused (nothing deleted).
Every run, dry or not, is recorded in `Prune_Runs` (run by "openorch prune (user@host)").
"""

import getpass
import os
import socket
import sys

from sqlalchemy import exc

from openorch.config import ENV_CONN, local_database_path
from openorch.masking import mask
from openorch.store import ConnectError, PruneResult, Store, describe_connection_error
from openorch.store.errors import BadInput
from openorch.store.ops import retention
from openorch.store.ops.retention import DEFAULT_BATCH_SIZE, KINDS

EXIT_OK = 0
EXIT_REFUSED = 2


def _error(message: str) -> None:
    print(f"openorch prune: error: {mask(message)}", file=sys.stderr)


def parse_policy(items: list[str]) -> dict[str, int]:
    """The `--keep` items as {kind: days} (empty: use the stored policy).

    Raises:
        BadInput: see `store.retention.parse_policy`.
    """
    return retention.parse_policy(items)


def _who() -> str:
    """Who runs this, for the record of runs."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"openorch prune ({user}@{socket.gethostname()}, pid {os.getpid()})"


def run_prune(
    keep: list[str],
    conn: str | None = None,
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> int:
    """Prune the configured database by `keep`; returns the exit code."""
    try:
        policy = parse_policy(keep)
    except ValueError as error:
        _error(f"{error} Nothing was deleted.")
        return EXIT_REFUSED
    # No key: pruning decrypts nothing. Local mode's database is never created here.
    conn_string = conn or os.environ.get(ENV_CONN) or None
    if conn_string is None:
        if not local_database_path().is_file():
            _error(
                f"There is no database at {local_database_path()} (give --conn, or set "
                f"{ENV_CONN} or OPENORCH_HOME). Nothing was deleted."
            )
            return EXIT_REFUSED
        conn_string = f"sqlite:///{local_database_path()}"
    try:
        store = Store.open(conn_string, None)
    except ConnectError as error:
        _error(f"{error} Nothing was deleted.")
        return EXIT_REFUSED
    try:
        print(f"Database: {mask(conn_string)}" + (" (dry run)" if dry_run else ""))
        if not policy:
            try:
                policy = store.get_retention_policy()
            except (exc.ProgrammingError, exc.OperationalError):
                _error(
                    "This database has no stored retention policy yet (run `openorch "
                    "upgrade` on it), so say what to prune: --keep KIND=DAYS, KIND one of "
                    f"{', '.join(KINDS)}. Nothing was deleted."
                )
                return EXIT_REFUSED
            if not policy:
                print(
                    "The stored retention policy keeps everything (set days per kind in the "
                    "Orchestrator's Settings tab, or give --keep KIND=DAYS): nothing to prune."
                )
                return EXIT_OK
            print("Policy: the stored one (" + _policy_text(policy) + ")")

        def say(result: PruneResult) -> None:
            verb = "would delete" if dry_run else "deleted"
            print(
                f"{result.kind:<15} older than {result.cutoff:%Y-%m-%d %H:%M}: {verb} "
                f"{result.rows:,} rows"
                + (
                    ""
                    if dry_run
                    else f" in {result.batches} batches, {result.seconds:.2f} s "
                    f"(longest batch {result.longest_hold * 1000:.0f} ms)"
                ),
                flush=True,
            )

        try:
            store.prune_by_policy(
                policy, _who(), dry_run=dry_run, batch_size=batch_size, on_result=say
            )
        except BadInput as error:
            _error(f"{error} Nothing was deleted.")
            return EXIT_REFUSED
        except (exc.ProgrammingError, exc.OperationalError) as error:
            _error(f"{describe_connection_error(error)} (run `openorch upgrade` on the database?)")
            return EXIT_REFUSED
    finally:
        store.close()
    return EXIT_OK


def _policy_text(policy: dict[str, int]) -> str:
    return ", ".join(f"{kind}={days}" for kind, days in policy.items())

"""`openorch prune --keep KIND=DAYS ... [--dry-run]`: delete old rows once, by hand or
from cron.

The deleting is the data layer's (`store/retention.py`: small batches, short
transactions, referenced rows kept); this module reads the policy from the command line,
prints one line per kind (what, how many, how long) and the exit code: 0 done, 2 refused
(nothing deleted).
"""

import os
import sys

from openorch.config import ENV_CONN, local_database_path
from openorch.masking import mask
from openorch.store import ConnectError, Store, retention
from openorch.store.errors import BadInput
from openorch.store.retention import DEFAULT_BATCH_SIZE, KINDS

EXIT_OK = 0
EXIT_REFUSED = 2


def _error(message: str) -> None:
    print(f"openorch prune: error: {mask(message)}", file=sys.stderr)


def parse_policy(items: list[str]) -> dict[str, int]:
    """The `--keep` items as {kind: days}; at least one.

    Raises:
        BadInput: see `store.retention.parse_policy`, or nothing to prune.
    """
    policy = retention.parse_policy(items)
    if not policy:
        raise BadInput(f"Say what to prune: --keep KIND=DAYS, KIND one of {', '.join(KINDS)}.")
    return policy


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
        for kind in KINDS:
            if kind not in policy:
                continue
            try:
                result = store.prune(kind, policy[kind], dry_run=dry_run, batch_size=batch_size)
            except BadInput as error:
                _error(f"{error} Nothing was deleted.")
                return EXIT_REFUSED
            verb = "would delete" if dry_run else "deleted"
            print(
                f"{kind:<15} older than {result.cutoff:%Y-%m-%d %H:%M}: {verb} "
                f"{result.rows:,} rows"
                + ("" if dry_run else f" in {result.batches} batches, {result.seconds:.2f} s")
            )
    finally:
        store.close()
    return EXIT_OK

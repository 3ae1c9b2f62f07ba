"""Set up the backup pipeline example: the queue, its elements and a queue trigger.

    python examples/backup_service.py &                      # the fake storage service
    python examples/setup_backup_example.py                  # local mode
    python examples/setup_backup_example.py --conn URL --key=KEY --service URL

Creates the queue `example_backups` with settings fit for a pipeline (5 attempts, 5 s
between them, unique references), one element per database to back up, and the queue
trigger "Example backups" that runs backup_pipeline.py whenever the queue holds a
claimable element. A running Scheduler does the rest.
"""

import argparse
import json
import sys
import tempfile
from datetime import date
from pathlib import Path

from openorch import config
from openorch.store import Store

HERE = Path(__file__).resolve().parent
PROCESS = HERE / "backup_pipeline.py"
QUEUE = "example_backups"
TRIGGER = "Example backups"
DATABASES = {"sales": 2000, "hr": 300, "stock": 1200, "finance": 800}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conn", help="connection string (default: environment or local mode)")
    parser.add_argument(
        "--key",
        help="encryption key (default: environment or local mode)" + config.KEY_HELP_SUFFIX,
    )
    parser.add_argument(
        "--service",
        default="http://127.0.0.1:8765",
        help="URL of backup_service.py (default: %(default)s)",
    )
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path(tempfile.gettempdir()) / "openorch-backups",
        help="where the backup files are written (default: %(default)s)",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=1.0,
        help="how long the transfer step waits between checks",
    )
    parser.add_argument("--attempts", type=int, default=5, help="the queue's max_attempts")
    parser.add_argument(
        "--retry-delay", type=int, default=5, help="the queue's retry delay in seconds"
    )
    parser.add_argument(
        "--process",
        type=Path,
        default=PROCESS,
        help="the script the trigger runs (default: backup_pipeline.py)",
    )
    args = parser.parse_args(config.join_key_values(sys.argv[1:] if argv is None else argv))
    resolved = config.resolve(args.conn, args.key)
    assert resolved is not None
    store = Store.open(resolved.conn_string, resolved.crypto_key, create=resolved.local)
    store.set_queue_settings(
        QUEUE,
        max_attempts=args.attempts,
        retry_delay_seconds=args.retry_delay,
        unique_references=True,
        description="Backups run by the example pipeline",
    )
    today = date.today().isoformat()
    created = store.bulk_create_queue_elements(
        QUEUE,
        [f"{name}-{today}" for name in DATABASES],
        [json.dumps({"database": name, "rows": rows}) for name, rows in DATABASES.items()],
        created_by="setup_backup_example",
        skip_duplicates=True,
    )
    if TRIGGER not in {trigger.trigger_name for trigger in store.get_all_triggers()}:
        store.create_queue_trigger(
            trigger_name=TRIGGER,
            process_name="example_backups",
            queue_name=QUEUE,
            process_path=str(args.process),
            process_args=json.dumps(
                {
                    "service": args.service,
                    "folder": str(args.folder),
                    "poll_seconds": args.poll_seconds,
                }
            ),
            is_git_repo=False,
            is_blocking=False,
            min_batch_size=1,
        )
    where = resolved.database_path if resolved.local else "the configured database"
    print(
        f"Queue {QUEUE}: {created.created} new element(s) in {where}; trigger {TRIGGER!r} "
        "ready. Start a Scheduler to run it."
    )
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

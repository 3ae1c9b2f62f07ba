"""Create what the example process needs, and a trigger that runs it now.

    python examples/setup_example.py            # local mode (nothing configured)
    python examples/setup_example.py --conn URL --key=KEY

Creates the constant `example_api_url`, the credential `example_api`, and a single
trigger "Example invoices" due now. A running Scheduler picks it up within seconds. Run
again, it creates nothing twice: the existing trigger is set to run now once more.
"""

import argparse
import sys
from datetime import datetime
from pathlib import Path

from openorch import config
from openorch.database import TriggerStatus
from openorch.store import Store

PROCESS = Path(__file__).resolve().parent / "invoice_process.py"
TRIGGER_NAME = "Example invoices"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conn", help="connection string (default: environment or local mode)")
    parser.add_argument(
        "--key",
        help="encryption key (default: environment or local mode)" + config.KEY_HELP_SUFFIX,
    )
    args = parser.parse_args(config.join_key_values(sys.argv[1:] if argv is None else argv))
    resolved = config.resolve(args.conn, args.key)
    assert resolved is not None
    store = Store.open(resolved.conn_string, resolved.crypto_key, create=resolved.local)
    names = {constant.name for constant in store.get_constants()}
    if "example_api_url" not in names:
        store.create_constant("example_api_url", "https://erp.example.com/api")
    if "example_api" not in {credential.name for credential in store.get_credentials()}:
        store.create_credential("example_api", "robot", "not-a-real-password")
    where = resolved.database_path if resolved.local else "the configured database"
    existing = [t for t in store.get_all_triggers() if t.trigger_name == TRIGGER_NAME]
    if existing:
        # Run twice, it re-arms the one trigger instead of adding a second one.
        trigger = existing[0]
        trigger.next_run = datetime.now()  # type: ignore[attr-defined]
        store.update_trigger(trigger)
        store.set_trigger_status(trigger.id, TriggerStatus.IDLE)
        print(f"Trigger {trigger.id} already exists in {where}; set to run now again.")
    else:
        trigger_id = store.create_single_trigger(
            trigger_name=TRIGGER_NAME,
            process_name="example_invoices",
            next_run=datetime.now(),
            process_path=str(PROCESS),
            process_args="--mode demo",
            is_git_repo=False,
            is_blocking=False,
        )
        print(f"Created trigger {trigger_id} in {where}; start a Scheduler to run it.")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""examples/setup_example.py may be run again: one trigger, one constant, one credential."""

import importlib.util
from pathlib import Path

from openorch.database import TriggerStatus
from openorch.store import Store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "setup_example.py"


def test_setup_example_twice_creates_one_trigger(sqlite_db_url: str, crypto_key: str) -> None:
    spec = importlib.util.spec_from_file_location("setup_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--conn", sqlite_db_url, "--key", crypto_key]) == 0
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    (trigger,) = store.get_all_triggers()
    store.set_trigger_status(trigger.id, TriggerStatus.DONE)  # as after a run
    assert module.main(["--conn", sqlite_db_url, "--key", crypto_key]) == 0
    (again,) = store.get_all_triggers()
    assert again.id == trigger.id and again.process_status == TriggerStatus.IDLE
    assert len(store.get_constants()) == 1 and len(store.get_credentials()) == 1
    store.close()

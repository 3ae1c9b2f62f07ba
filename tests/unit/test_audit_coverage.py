"""Every `Store` method is classified for the Orchestrator's audit trail: audited (the
page may call it and it leaves a row), a write the page may not make (refused), or a
read. A new `Store` method fails here until it is put in one of them, and a write the
page calls must be audited (so a new popup cannot write without a row)."""

import re
from pathlib import Path

from openorch.orchestrator import audited_store
from openorch.orchestrator.audited_store import (
    AUDITED,
    PASSED_THROUGH,
    UNAUDITED_WRITES,
    is_read,
)
from openorch.store import Store

ORCHESTRATOR = Path(audited_store.__file__).parent


def _public() -> set[str]:
    return {name for name in dir(Store) if not name.startswith("_")}


def test_every_store_method_is_classified_once() -> None:
    audited, refused, passed = set(AUDITED), set(UNAUDITED_WRITES), set(PASSED_THROUGH)
    assert not audited & refused and not audited & passed and not refused & passed
    stale = (audited | refused | passed) - _public()
    assert not stale, f"no such Store methods: {sorted(stale)}"
    unclassified = [
        name for name in sorted(_public()) if name not in audited | refused and not is_read(name)
    ]
    assert not unclassified, (
        f"classify {unclassified} in orchestrator/audited_store.py: AUDITED (the "
        "Orchestrator calls it and it writes), UNAUDITED_WRITES or PASSED_THROUGH"
    )


def test_every_write_the_pages_call_is_audited() -> None:
    called: set[str] = set()
    for path in ORCHESTRATOR.rglob("*.py"):
        if path.name == "audited_store.py":
            continue
        called |= set(re.findall(r"\bstore\.([a-z_]+)", path.read_text(encoding="utf-8")))
    writes = {name for name in called & _public() if not is_read(name)}
    assert writes, "the scan found no writes: has the code changed shape?"
    assert writes <= set(AUDITED), sorted(writes - set(AUDITED))
    # The pages write through most of what is audited (a stale entry would be noise).
    assert len(writes) >= len(AUDITED) - 3, sorted(set(AUDITED) - writes)

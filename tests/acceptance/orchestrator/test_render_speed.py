"""Server time to render the Triggers tab with 1,000 triggers and the first page of a
1,000,000-element queue (target ≤ 200 ms, docs/benchmarks.md). Printed, not asserted tightly:
these are measurements, and a shared CI machine is noisy; the bound below only catches a
regression to "loads everything"."""

import json
import statistics
import time
from datetime import datetime, timedelta

import pytest
from nicegui.testing.user import User

from openorch.orchestrator.frame import PAGES
from openorch.orchestrator.popups.queue_dialog import QueueDialog
from openorch.store import Store
from support.ui import show_tab, table_rows, until

TRIGGERS = 1_000
ELEMENTS = 1_000_000
RUNS = 5


def seed(db: Store) -> None:
    soon = datetime.now() + timedelta(hours=1)
    for index in range(TRIGGERS):
        name = f"trigger {index:04d}"
        if index % 3 == 0:
            db.create_single_trigger(name, "p", soon, "path", None, False, True)
        elif index % 3 == 1:
            db.create_scheduled_trigger(name, "p", "*/5 * * * *", soon, "path", None, False, True)
        else:
            db.create_queue_trigger(name, "p", "big", "path", None, False, True, 10)
    chunk = 100_000
    for start in range(0, ELEMENTS, chunk):
        db.bulk_create_queue_elements(
            "big",
            [f"ref-{n}" for n in range(start, start + chunk)],
            [json.dumps({"n": n}) for n in range(start, start + chunk)],
        )


async def median_ms(action: object) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await action()  # type: ignore[operator]
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


@pytest.mark.slow
async def test_render_times(connected: User, db: Store, capsys: pytest.CaptureFixture[str]) -> None:
    user = connected
    seed(db)
    page = PAGES[user.client]  # type: ignore[index]
    await show_tab(user, "Triggers")
    await until(lambda: len(table_rows(user, "trigger_table")) == TRIGGERS)
    triggers_tab = page.tab_objects["Triggers"]
    table = triggers_tab.table  # type: ignore[attr-defined]

    async def render_triggers() -> None:
        await triggers_tab.refresh()
        json.dumps(table._to_dict())  # what goes to the browser

    triggers_ms = await median_ms(render_triggers)

    with user.client.layout:  # type: ignore[union-attr]
        dialog = QueueDialog(page.client_store, "big")

    async def render_queue_page() -> None:
        await dialog.refresh()
        json.dumps(dialog.server.table._to_dict())

    queue_ms = await median_ms(render_queue_page)
    assert dialog.server.total == ELEMENTS and len(dialog.server.table.rows) == 50

    with capsys.disabled():
        print(
            f"\n[orchestrator render] Triggers tab, {TRIGGERS} triggers: {triggers_ms:.1f} ms; "
            f"first page of a {ELEMENTS:,}-element queue: {queue_ms:.1f} ms "
            f"(median of {RUNS}, SQLite)"
        )
    assert triggers_ms < 2000 and queue_ms < 2000

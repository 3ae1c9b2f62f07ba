"""Revision 0d19a1e5c001 (Schedulers.run_host, run_pid) on both backends: the original
OpenOrchestrator 3.0.0 still pings with its own statements, and its row holds no run (so
an openorch Scheduler may take the name)."""

import uuid
from datetime import datetime

import sqlalchemy as sa

from openorch import migrate
from openorch.store import Store, build_engine
from openorch.store.runs.schedulers import RunIdentity

#: Schedulers as the original 3.0.0 knows the table (no openorch columns).
ORIGINAL_SCHEDULERS = sa.table(
    "Schedulers",
    sa.column("machine_name"),
    sa.column("last_update"),
    sa.column("latest_trigger"),
    sa.column("latest_trigger_time"),
)


def test_original_pings_beside_run_identities(empty_url: str) -> None:
    engine = build_engine(empty_url)
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            ORIGINAL_SCHEDULERS.insert().values(machine_name="RPA01", last_update=datetime.now())
        )
    store = Store(engine)
    here = RunIdentity("robot-1", 4242)
    assert store.get_run_holder("RPA01", here) is None  # the original's row holds no run
    taken = store.register_run("RPA01", uuid.uuid4(), 30, "running", here=here)
    assert taken.registered and taken.previous is None
    with engine.begin() as connection:  # the original's own statements still work
        connection.execute(
            ORIGINAL_SCHEDULERS.update()
            .where(ORIGINAL_SCHEDULERS.c.machine_name == "RPA01")
            .values(last_update=datetime.now(), latest_trigger="nightly")
        )
        rows = connection.execute(sa.select(ORIGINAL_SCHEDULERS)).all()
    assert [(row[0], row[2]) for row in rows] == [("RPA01", "nightly")]
    (row,) = store.get_schedulers()
    assert (row.run_host, row.run_pid) == ("robot-1", 4242)
    columns = {column["name"] for column in sa.inspect(engine).get_columns("Schedulers")}
    assert {"run_host", "run_pid"} <= columns
    engine.dispose()

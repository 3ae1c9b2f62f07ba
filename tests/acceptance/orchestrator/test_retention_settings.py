"""Settings → Retention (issue 29): the policy is edited on the page and stored; bad
input is refused with a message and changes nothing; recorded prune runs are listed."""

import pytest
from nicegui.testing.user import User

from openorch.database import Log, LogLevel
from openorch.store import Store
from support.ui import one, table_rows, until


async def test_the_policy_is_edited_in_settings(connected: User, db: Store) -> None:
    user = connected
    await until(lambda: one(user, "retention_policy_label").text == "Stored: keep everything.")
    one(user, "retention_days_logs").value = "90"
    one(user, "retention_days_queue_elements").value = " 30 "
    user.find(marker="retention_save_button").click()
    await user.should_see("Retention saved.", retries=50)
    assert db.get_retention_policy() == {"logs": 90, "queue_elements": 30}
    assert one(user, "retention_policy_label").text == (
        "Stored: logs 90 days, queue_elements 30 days"
    )
    # Emptying a field keeps that kind whole again.
    one(user, "retention_days_logs").value = ""
    user.find(marker="retention_save_button").click()
    await until(lambda: db.get_retention_policy() == {"queue_elements": 30})


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("-5", "Days to keep jobs must be at least 1, not -5. Nothing was saved."),
        ("a year", "Days to keep jobs must be a whole number of days"),
        ("0", "Days to keep jobs must be at least 1, not 0."),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    connected: User, db: Store, typed: str, says: str
) -> None:
    user = connected
    db.set_retention_policy({"logs": 90})
    user.find(marker="refresh_button").click()
    await until(lambda: one(user, "retention_days_logs").value == "90")
    one(user, "retention_days_logs").value = "7"
    one(user, "retention_days_jobs").value = typed
    user.find(marker="retention_save_button").click()
    await user.should_see(says, retries=50)
    assert db.get_retention_policy() == {"logs": 90}


async def test_prune_runs_are_listed(connected: User, db: Store) -> None:
    from datetime import datetime, timedelta

    from sqlalchemy.orm import Session

    with Session(db.engine) as session, session.begin():
        for _ in range(3):
            session.add(
                Log(
                    log_time=datetime.now() - timedelta(days=10),
                    log_level=LogLevel.INFO,
                    process_name="p",
                    log_message="old",
                )
            )
    db.prune_by_policy({"logs": 5}, "vm1 (pid 1, abc)")
    user = connected
    user.find(marker="refresh_button").click()
    rows = await until(lambda: table_rows(user, "retention_runs_table"))
    (row,) = rows
    assert row["run_by"] == "vm1 (pid 1, abc)" and row["rows"] == "3"
    assert row["kinds"] == "logs 3" and row["outcome"] == "finished" and row["dry_run"] == ""

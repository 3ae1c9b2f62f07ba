"""A real headless Scheduler under libfaketime (wall clock only), started 10 seconds before
Copenhagen's spring-forward change on Sunday 29 March 2026 (01:00 UTC), which is also a
holiday in the triggers' calendar (issue 28):

- `30 2 * * *` in Europe/Copenhagen: 02:30 does not exist that night, so it runs once, at
  03:00 CEST (01:00 UTC), and its next run is 02:30 CEST the next day;
- `0 3 * * *` in Europe/Copenhagen, skipping the calendar's days: 03:00 CEST on the
  holiday is not run; its next run stays on Monday.

The Scheduler runs with TZ=UTC, so the naive times in the database are UTC.
"""

import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from openorch.store import Store
from support.headless import Headless
from support.processes.harness import script

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
START = datetime(2026, 3, 29, 0, 59, 52)  # UTC; the change is at 01:00:00 UTC
HOLIDAY = "2026-03-29"

pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="libfaketime is a POSIX preload"),
    pytest.mark.slow,  # about 20 s: a real Scheduler and ten seconds of its clock
]


@pytest.fixture
def headless() -> Iterator[list[Headless]]:
    started: list[Headless] = []
    yield started
    for one in started:
        one.kill()


def test_dst_change_and_holiday_under_a_real_scheduler(
    sqlite_db_url: str, crypto_key: str, tmp_path: Path, headless: list[Headless]
) -> None:
    assert LIBFAKETIME.exists(), "needs Debian's libfaketime (apt-get install libfaketime)"
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    calendar = store.create_calendar("Holidays")
    store.add_calendar_days(calendar, [HOLIDAY])
    gap = store.create_scheduled_trigger(
        "gap",
        "gap",
        "30 2 * * *",
        datetime(2026, 3, 29, 1, 0),  # what the dialog fills in (UTC machine)
        script("quick.py"),
        None,
        False,
        False,
        time_zone="Europe/Copenhagen",
    )
    holiday = store.create_scheduled_trigger(
        "holiday",
        "holiday",
        "0 3 * * *",
        datetime(2026, 3, 29, 1, 0),  # the holiday's 03:00 CEST: no run time of the rule
        script("quick.py"),
        None,
        False,
        False,
        time_zone="Europe/Copenhagen",
        calendar_id=calendar,
        calendar_rule="SKIP",
    )
    env = {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME": "@" + START.strftime("%Y-%m-%d %H:%M:%S"),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "TZ": "UTC",
    }
    headless.append(
        Headless(
            tmp_path,
            sqlite_db_url,
            crypto_key,
            "--name",
            "faked",
            "--poll-interval",
            "0.3",
            extra_env=env,
        )
    )
    deadline = time.monotonic() + 40
    while not store.get_jobs():
        assert headless[0].process.poll() is None, headless[0].text()
        assert time.monotonic() < deadline, headless[0].text()
        time.sleep(0.2)
    time.sleep(5)  # fake 01:00:03 → 01:00:08: nothing may run again
    jobs = store.get_jobs()
    assert [job.trigger_id for job in jobs] == [gap], [(j.process_name, j.start_time) for j in jobs]
    (job,) = jobs
    assert datetime(2026, 3, 29, 1, 0) <= job.start_time < datetime(2026, 3, 29, 1, 0, 5)
    assert store.get_trigger(gap).next_run == datetime(2026, 3, 30, 0, 30)  # type: ignore[attr-defined]
    # The holiday's run was corrected to Monday 03:00 CEST (01:00 UTC), never run.
    assert store.get_trigger(holiday).next_run == datetime(2026, 3, 30, 1, 0)  # type: ignore[attr-defined]
    assert store.get_trigger(holiday).last_run is None
    headless[0].process.send_signal(signal.SIGTERM)
    assert headless[0].finish() == 0
    store.close()

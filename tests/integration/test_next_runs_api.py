"""`GET /api/v1/triggers/{id}/next-runs` over the real FastAPI app (in-process ASGI)."""

from datetime import datetime, timedelta

import httpx

from openorch.api.app import create_app
from openorch.store import Store
from openorch.store.runs.schedule import CalendarRule, Schedule, next_runs


async def test_next_runs_in_the_triggers_zone_with_its_calendar(store: Store) -> None:
    _token, secret = store.create_api_token("reader", ["READ"])
    calendar = store.create_calendar("DK")
    store.fill_public_holidays(calendar, "DK", [datetime.now().year, datetime.now().year + 1])
    first = datetime.now() + timedelta(hours=1)
    key = store.create_scheduled_trigger(
        "morning",
        "proc",
        "0 7 * * *",
        first,
        "C:/robots/proc.py",
        "",
        False,
        False,
        time_zone="Europe/Copenhagen",
        calendar_id=calendar,
        calendar_rule="WORKING_DAYS",
    )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(store)), base_url="http://127.0.0.1"
    )
    headers = {"Authorization": f"Bearer {secret}"}
    response = await client.get(f"/api/v1/triggers/{key}/next-runs?count=5", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["time_zone"] == "Europe/Copenhagen" and body["calendar_rule"] == "WORKING_DAYS"
    assert len(body["runs"]) == 5 and body["note"] is None
    days = {day.day for day in store.get_calendar_days(calendar)}
    expected = next_runs(
        Schedule("0 7 * * *", "Europe/Copenhagen", CalendarRule.WORKING_DAYS, frozenset(days)),
        first,
        4,
    )
    server_times = [datetime.fromisoformat(run["server_time"]) for run in body["runs"]]
    assert server_times == [first.replace(microsecond=first.microsecond), *expected]
    for run in body["runs"][1:]:
        moment = datetime.fromisoformat(run["time"])
        assert moment.strftime("%H:%M") == "07:00" and moment.utcoffset() in (
            timedelta(hours=1),
            timedelta(hours=2),
        )
        assert moment.weekday() < 5 and moment.date() not in days
    by_name = await client.get("/api/v1/triggers/morning/next-runs", headers=headers)
    assert len(by_name.json()["runs"]) == 10
    assert (
        await client.get(f"/api/v1/triggers/{key}/next-runs?count=0", headers=headers)
    ).status_code == 422
    assert (await client.get(f"/api/v1/triggers/{key}/next-runs")).status_code == 401
    missing = await client.get("/api/v1/triggers/nothing/next-runs", headers=headers)
    assert missing.status_code == 404


async def test_queue_trigger_has_no_set_times(store: Store) -> None:
    _token, secret = store.create_api_token("reader", ["READ"])
    store.create_queue_trigger("q", "proc", "invoices", "C:/p.py", "", False, False, 1)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(store)), base_url="http://127.0.0.1"
    )
    response = await client.get(
        "/api/v1/triggers/q/next-runs", headers={"Authorization": f"Bearer {secret}"}
    )
    body = response.json()
    assert body["runs"] == [] and "queue" in body["note"]

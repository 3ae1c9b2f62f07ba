"""The audit trail on SQLite and PostgreSQL: every write the Orchestrator can make leaves
exactly one row naming who made it, no secret ever reaches a row, the trail pages and
filters, and API writes land in it as "api:<token>"."""

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest

from openorch.database import AuditEntry, QueueStatus, TriggerStatus
from openorch.identity import Identity
from openorch.orchestrator.audited_store import AUDITED, NotAudited, audited, one_row
from openorch.store import ReviewFilter, Store

ANNA = Identity("anna", "oidc", "operator")

#: Secrets planted in the objects below; none may appear in any audit row.
PASSWORD = "Pw-never-in-the-trail-1"
NEW_PASSWORD = "Pw-never-in-the-trail-2"
GIT_TOKEN = "ghp-never-in-the-trail-3"
HOOK_PATH = "T000/B000/never-in-the-trail-4"
DB_PASSWORD = "db-never-in-the-trail-5"
ARG_SECRET = "arg-never-in-the-trail-6"
SECRETS = (PASSWORD, NEW_PASSWORD, GIT_TOKEN, HOOK_PATH, DB_PASSWORD, ARG_SECRET)

GIT_URL = f"https://robot:{GIT_TOKEN}@git.example.com/robots/invoices.git"
CONN = f"postgresql+psycopg://robot:{DB_PASSWORD}@db.example.com/erp"
HOOK_URL = f"https://hooks.example.com/services/{HOOK_PATH}"
TOMORROW = datetime.now() + timedelta(days=1)


def _trigger(store: Store, name: str = "invoices") -> uuid.UUID:
    return store.create_single_trigger(
        name, "invoices", TOMORROW, GIT_URL, f"password={ARG_SECRET}", True, False
    )


def _element(store: Store, claimed: bool = False) -> uuid.UUID:
    element = store.create_queue_element("orders", "A-1", f'{{"note": "password={ARG_SECRET}"}}')
    if claimed:
        store.get_next_queue_element("orders")
    return element.id


def _calendar(store: Store) -> uuid.UUID:
    key = store.create_calendar("plant")
    store.add_calendar_days(key, [date(2030, 1, 2)])
    return key


#: For every audited method: how to set up (on the real store) and make the one call
#: (on the audited store). A method added to AUDITED without a scenario fails
#: `test_every_audited_write_has_a_scenario`.
Scenario = Callable[[Store, Store], object]
SCENARIOS: dict[str, Scenario] = {
    "create_single_trigger": lambda s, a: a.create_single_trigger(
        "t", "p", TOMORROW, GIT_URL, f"password={ARG_SECRET}", True, False
    ),
    "create_scheduled_trigger": lambda s, a: a.create_scheduled_trigger(
        "t", "p", "0 6 * * *", TOMORROW, GIT_URL, None, True, False
    ),
    "create_queue_trigger": lambda s, a: a.create_queue_trigger(
        "t", "p", "orders", GIT_URL, None, True, False, 1
    ),
    "update_trigger": lambda s, a: a.update_trigger(
        _edited(s.get_trigger(_trigger(s)), "process_args", f"pwd={ARG_SECRET} --fast")
    ),
    "delete_trigger": lambda s, a: a.delete_trigger(_trigger(s)),
    "enable_trigger": lambda s, a: a.enable_trigger(_paused_trigger(s)),
    "disable_trigger": lambda s, a: a.disable_trigger(_trigger(s)),
    "kill_trigger": lambda s, a: a.kill_trigger(_running_trigger(s)),
    "create_constant": lambda s, a: a.create_constant("erp", CONN),
    "update_constant": lambda s, a: (s.create_constant("erp", "x"), a.update_constant("erp", CONN)),
    "delete_constant": lambda s, a: (s.create_constant("erp", CONN), a.delete_constant("erp")),
    "create_credential": lambda s, a: a.create_credential("mail", "robot", PASSWORD),
    "update_credential": lambda s, a: (
        s.create_credential("mail", "robot", PASSWORD),
        a.update_credential("mail", "robot2", NEW_PASSWORD),
    ),
    "delete_credential": lambda s, a: (
        s.create_credential("mail", "robot", PASSWORD),
        a.delete_credential("mail"),
    ),
    "create_queue_element": lambda s, a: a.create_queue_element(
        "orders", "A-1", json.dumps({"conn": CONN, "login": {"password": ARG_SECRET}})
    ),
    "update_queue_element": lambda s, a: a.update_queue_element(_element(s), message="checked"),
    "set_queue_element_status": lambda s, a: a.set_queue_element_status(
        _element(s), QueueStatus.DONE
    ),
    "release_queue_element": lambda s, a: a.release_queue_element(_element(s, claimed=True)),
    "delete_queue_element": lambda s, a: a.delete_queue_element(_element(s)),
    "apply_queue_action": lambda s, a: (_element(s), a.apply_queue_action("abandon", "orders")),
    "set_queue_settings": lambda s, a: a.set_queue_settings("orders", max_attempts=3),
    "create_calendar": lambda s, a: a.create_calendar("plant"),
    "add_calendar_days": lambda s, a: a.add_calendar_days(_calendar(s), [date(2030, 1, 3)]),
    "fill_public_holidays": lambda s, a: a.fill_public_holidays(_calendar(s), "DK", [2030]),
    "remove_calendar_days": lambda s, a: a.remove_calendar_days(_calendar(s), [date(2030, 1, 2)]),
    "delete_calendar": lambda s, a: a.delete_calendar(_calendar(s)),
    "create_api_token": lambda s, a: a.create_api_token("crm", ["READ"]),
    "revoke_api_token": lambda s, a: a.revoke_api_token(s.create_api_token("crm", ["READ"])[0].id),
    "save_alert_channel": lambda s, a: (
        s.save_alert_channel("hook", "webhook", webhook_url=HOOK_URL, webhook_format="plain"),
        a.save_alert_channel(
            "hook", "webhook", webhook_url=HOOK_URL + "/2", webhook_format="slack"
        ),
    ),
    "delete_alert_channel": lambda s, a: (
        s.save_alert_channel("hook", "webhook", webhook_url=HOOK_URL, webhook_format="plain"),
        a.delete_alert_channel("hook"),
    ),
    "save_alert_rule": lambda s, a: a.save_alert_rule("job_failed", enabled=True),
    "set_alert_recipients": lambda s, a: a.set_alert_recipients(
        "trigger", "invoices", "ops@example.com"
    ),
    "set_retention_policy": lambda s, a: a.set_retention_policy({"logs": 30}, "anna"),
    "edit_queue_element": lambda s, a: a.edit_queue_element(_element(s), "anna", message="ok"),
    "assign_review_item": lambda s, a: a.assign_review_item(_review_item(s), "anna"),
    "decide_review_item": lambda s, a: a.decide_review_item(
        _review_item(s), "done", "handled by hand", "anna"
    ),
    "decide_review_items": lambda s, a: (
        _review_item(s),
        a.decide_review_items(ReviewFilter(queue="orders"), "abandon", "not ours", "anna"),
    ),
}


def _review_item(store: Store) -> uuid.UUID:
    """An element failed for a business reason: in review (the queue's default)."""
    key = _element(store)
    store.set_queue_element_status(key, QueueStatus.FAILED, "unknown customer", kind="business")
    (entry,) = store.list_review_items(ReviewFilter(queue="orders"))
    return entry.item.id


def _edited(row: object, field: str, value: object) -> object:
    setattr(row, field, value)
    return row


def _paused_trigger(store: Store) -> uuid.UUID:
    key = _trigger(store)
    store.disable_trigger(key)
    return key


def _running_trigger(store: Store) -> uuid.UUID:
    key = _trigger(store)
    store.set_trigger_status(key, TriggerStatus.RUNNING)
    return key


def test_every_audited_write_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(AUDITED)


def _rows(store: Store) -> tuple[AuditEntry, ...]:
    return store.get_audit(limit=None)[0]


def _text(entry: AuditEntry) -> str:
    return " ".join(
        str(part)
        for part in (
            entry.actor,
            entry.object_id,
            entry.object_name,
            entry.summary,
            entry.before,
            entry.after,
        )
    )


@pytest.mark.parametrize("method", sorted(SCENARIOS))
def test_each_orchestrator_write_leaves_one_row_naming_the_actor_and_no_secret(
    store: Store, method: str
) -> None:
    SCENARIOS[method](store, audited(store, lambda: ANNA))
    (entry,) = _rows(store)
    spec = AUDITED[method]
    assert entry.actor == "anna (oidc)"
    assert (entry.actor_method, entry.actor_role, entry.source) == (
        "oidc",
        "operator",
        "orchestrator",
    )
    assert entry.object_kind == spec.kind
    assert entry.action.startswith(spec.kind.split("_")[0])
    assert entry.object_id
    for secret in SECRETS:
        assert secret not in _text(entry), (method, secret)
    if entry.before is not None:
        assert isinstance(json.loads(entry.before), dict)
    if entry.after is not None:
        assert isinstance(json.loads(entry.after), dict)


def test_before_and_after_show_what_an_edit_changed(store: Store) -> None:
    key = _trigger(store)
    trail = audited(store, lambda: ANNA)
    assert trail.disable_trigger(key) is TriggerStatus.PAUSED
    store.create_credential("mail", "robot", PASSWORD)
    trail.update_credential("mail", "robot2", NEW_PASSWORD)
    pause, credential = sorted(_rows(store), key=lambda entry: entry.action, reverse=True)
    assert pause.action == "trigger.pause" and pause.object_name == "invoices"
    assert pause.summary == "status IDLE -> PAUSED"
    assert json.loads(pause.before or "")["process_status"] == "IDLE"
    assert json.loads(pause.after or "")["process_status"] == "PAUSED"
    assert "robot:***@git.example.com" in json.loads(pause.after or "")["process_path"]
    before, after = json.loads(credential.before or ""), json.loads(credential.after or "")
    assert (before["username"], after["username"]) == ("robot", "robot2")
    assert before["password"] == after["password"] == "***"


def test_a_webhook_url_is_kept_as_its_host_only(store: Store) -> None:
    audited(store, lambda: ANNA).save_alert_channel(
        "hook", "webhook", webhook_url=HOOK_URL, webhook_format="plain"
    )
    (entry,) = _rows(store)
    assert entry.action == "alert_channel.create"
    assert json.loads(entry.after or "")["webhook_url"] == "https://hooks.example.com/…"


def test_a_refused_write_leaves_no_row(store: Store) -> None:
    trail = audited(store, lambda: ANNA)
    store.create_constant("erp", "x")
    with pytest.raises(ValueError, match="already exists"):
        trail.create_constant("erp", "y")
    with pytest.raises(ValueError):
        trail.delete_trigger(uuid.uuid4())
    assert _rows(store) == ()


def test_writes_the_orchestrator_never_makes_are_refused(store: Store) -> None:
    trail = audited(store, lambda: ANNA)
    with pytest.raises(NotAudited, match="retry_queue_element"):
        trail.retry_queue_element  # noqa: B018 - taking the method is refused
    with pytest.raises(NotAudited):
        trail.record_audit  # noqa: B018
    assert trail.get_constants() == ()  # reads pass through


def _add(store: Store, actor: str, action: str, kind: str, name: str, at: datetime) -> None:
    entry = store.record_audit(
        actor=actor,
        actor_method="token",
        actor_role="admin",
        action=action,
        object_kind=kind,
        object_id=name,
        object_name=name,
        summary=f"{action} of {name}",
    )
    with store.engine.begin() as connection:  # set the time the test needs
        connection.execute(
            AuditEntry.__table__.update()  # type: ignore[attr-defined]
            .where(AuditEntry.__table__.c.id == entry.id)  # type: ignore[attr-defined]
            .values(at=at)
        )


def test_the_trail_pages_and_filters(store: Store) -> None:
    start = datetime(2030, 1, 1, 12)
    for minute in range(30):
        actor = "anna (oidc)" if minute % 3 else "bo (ldap)"
        kind = "trigger" if minute % 2 else "credential"
        _add(
            store,
            actor,
            f"{kind}.update",
            kind,
            f"object-{minute}",
            start + timedelta(minutes=minute),
        )
    page, total = store.get_audit(0, 10)
    assert total == 30 and len(page) == 10
    assert [entry.object_name for entry in page[:2]] == ["object-29", "object-28"]
    assert store.get_audit(25, 10)[0][-1].object_name == "object-0"
    assert store.get_audit(actor="bo (ldap)")[1] == 10
    assert store.get_audit(object_kind="trigger")[1] == 15
    assert store.get_audit(action="credential.update", actor="bo (ldap)")[1] == 5
    window = store.get_audit(
        from_time=start + timedelta(minutes=10), to_time=start + timedelta(minutes=19)
    )
    assert window[1] == 10
    assert store.get_audit(text="OBJECT-2")[1] == 11  # 2, 20..29
    assert store.get_audit(object_text="object-7")[1] == 1
    oldest = store.get_audit(0, 1, order_by="at", order_desc=False)[0][0]
    assert oldest.object_name == "object-0"
    choices = store.get_audit_choices()
    assert choices["actor"] == ("anna (oidc)", "bo (ldap)")
    assert choices["object_kind"] == ("credential", "trigger")
    with pytest.raises(ValueError, match="source"):
        store.get_audit(source="robot")
    with pytest.raises(ValueError, match="order_by"):
        store.get_audit(order_by="before")


def test_api_writes_land_in_the_trail_as_the_token(store: Store) -> None:
    key = _trigger(store)
    store.request_run(key, "crm")
    element = store.create_queue_element("orders", "A-1")
    store.record_api_write(
        "crm", "add queue element", "queue 'orders'", object_id=element.id, object_name="orders"
    )
    entries = _rows(store)
    assert {(entry.actor, entry.actor_method, entry.source) for entry in entries} == {
        ("api:crm", "api-token", "api")
    }
    assert sorted(entry.action for entry in entries) == ["queue_element.create", "trigger.run"]
    run = next(entry for entry in entries if entry.action == "trigger.run")
    assert run.object_id == str(key) and run.object_name == "invoices"
    assert store.get_api_audit()[1] == 2  # the API tab's own record as before


def test_one_save_of_several_calls_is_one_row(store: Store) -> None:
    key = _element(store)
    trail = audited(store, lambda: ANNA)
    with one_row(trail, "queue_element.update"):
        trail.set_queue_element_status(key, QueueStatus.DONE)
        trail.update_queue_element(key, message="checked")
    (entry,) = _rows(store)
    assert entry.action == "queue_element.update" and entry.object_id == str(key)
    before, after = json.loads(entry.before or ""), json.loads(entry.after or "")
    assert (before["status"], after["status"]) == ("NEW", "DONE")
    assert after["message"] == "checked"
    assert entry.summary == "status set to DONE"


def test_secret_fields_inside_json_data_are_hidden(store: Store) -> None:
    data = json.dumps({"customer": 7, "login": {"user": "robot", "password": ARG_SECRET}})
    audited(store, lambda: ANNA).create_queue_element("orders", "A-1", data)
    (entry,) = _rows(store)
    assert ARG_SECRET not in (entry.after or "")
    kept = json.loads(entry.after or "")["data"]
    assert kept == {"customer": 7, "login": {"user": "robot", "password": "***"}}

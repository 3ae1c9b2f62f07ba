"""The `OpenOrchestrator` compatibility package: every name the SDK reference lists, re-exported
(not reimplemented), `crypto_util` token compatibility with the original, `db_util` over
its default connection, and `python -m OpenOrchestrator`."""

import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import insert

import openorch
from openorch import sdk
from openorch.crypto import Cipher, generate_key
from openorch.database import Credential, JobStatus, QueueStatus, TriggerStatus
from openorch.store import Store

NAMES = {
    "OpenOrchestrator.orchestrator_connection.connection": ["OrchestratorConnection"],
    "OpenOrchestrator.database.queues": ["QueueElement", "QueueStatus"],
    "OpenOrchestrator.database.logs": ["Log", "LogLevel"],
    "OpenOrchestrator.database.constants": ["Constant", "Credential"],
    "OpenOrchestrator.database.triggers": [
        "Trigger",
        "SingleTrigger",
        "ScheduledTrigger",
        "QueueTrigger",
        "TriggerStatus",
        "TriggerType",
    ],
    "OpenOrchestrator.database.jobs": ["Job", "JobStatus"],
    "OpenOrchestrator.database.schedulers": ["Scheduler"],
    "OpenOrchestrator.database.base": ["Base"],
    "OpenOrchestrator.common.crypto_util": [
        "generate_key",
        "set_key",
        "get_key",
        "encrypt_string",
        "decrypt_string",
        "validate_key",
    ],
}

DB_UTIL = (
    "connect",
    "disconnect",
    "check_database_revision",
    "get_conn_string",
    "get_trigger",
    "get_all_triggers",
    "update_trigger",
    "get_scheduled_triggers",
    "get_single_triggers",
    "get_queue_triggers",
    "delete_trigger",
    "create_single_trigger",
    "create_scheduled_trigger",
    "create_queue_trigger",
    "get_pending_single_triggers",
    "get_pending_scheduled_triggers",
    "get_pending_queue_triggers",
    "begin_single_trigger",
    "begin_scheduled_trigger",
    "begin_queue_trigger",
    "set_trigger_status",
    "get_logs",
    "create_log",
    "get_unique_log_process_names",
    "get_jobs",
    "start_job",
    "set_job_status",
    "get_job",
    "get_constant",
    "get_constants",
    "create_constant",
    "update_constant",
    "delete_constant",
    "get_credential",
    "get_credentials",
    "create_credential",
    "update_credential",
    "delete_credential",
    "create_queue_element",
    "bulk_create_queue_elements",
    "get_next_queue_element",
    "get_queue_elements",
    "get_queue_element",
    "update_queue_element",
    "get_queue_count",
    "set_queue_element_status",
    "delete_queue_element",
    "get_schedulers",
    "send_ping_from_scheduler",
    "start_trigger_from_machine",
)


@pytest.mark.parametrize("module_name", sorted(NAMES))
def test_every_listed_name_is_openorchs_own(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in NAMES[module_name]:
        value = getattr(module, name)
        assert value.__module__.startswith("openorch."), f"{module_name}.{name} is a copy"


def test_the_original_import_paths_give_the_same_objects() -> None:
    from OpenOrchestrator.database.base import Base
    from OpenOrchestrator.database.queues import QueueStatus as OldQueueStatus
    from OpenOrchestrator.orchestrator_connection.connection import OrchestratorConnection

    # openorch's class, plus the original's string ids and default-connection side effect.
    assert issubclass(OrchestratorConnection, openorch.OrchestratorConnection)
    assert OldQueueStatus is QueueStatus
    assert {
        "Triggers",
        "Queues",
        "Logs",
        "Constants",
        "Credentials",
        "Jobs",
        "Schedulers",
        "Single_Triggers",
        "Scheduled_Triggers",
        "Queue_Triggers",
    } <= set(Base.metadata.tables)


def test_db_util_has_every_listed_function() -> None:
    from OpenOrchestrator.database import db_util

    for name in DB_UTIL:
        function = getattr(db_util, name)
        assert function is getattr(sdk.db_util, name)
        assert function.__doc__, f"db_util.{name} has no docstring"


def test_python_m_openorchestrator_is_the_openorch_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "OpenOrchestrator", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout.strip() == f"openorch {openorch.__version__}"
    key = subprocess.run(
        [sys.executable, "-m", "OpenOrchestrator", "key"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    Fernet(key)


# --- crypto_util -------------------------------------------------------------------------


@pytest.fixture
def crypto_util() -> Iterator[object]:
    """The module, with its key put back afterwards (it is module state by design)."""
    from OpenOrchestrator.common import crypto_util as module

    saved = module.get_key()
    yield module
    module.set_key(saved)


def test_crypto_util_round_trip_and_original_tokens(crypto_util: object) -> None:
    from OpenOrchestrator.common import crypto_util as cu

    key = cu.generate_key()
    assert isinstance(key, bytes) and cu.validate_key(key) and cu.validate_key(key.decode())
    cu.set_key(key.decode())
    assert cu.get_key() == key.decode()
    token = cu.encrypt_string("pässword ✓")
    assert Fernet(key).decrypt(token.encode()).decode() == "pässword ✓"
    password = "from the original"
    original = Fernet(key).encrypt(password.encode()).decode()
    assert cu.decrypt_string(original) == password
    cu.set_key(cu.generate_key())
    with pytest.raises(ValueError, match="key does not match"):
        cu.decrypt_string(token)


def test_crypto_util_refuses_bad_keys(crypto_util: object) -> None:
    from OpenOrchestrator.common import crypto_util as cu

    for bad in ("", "short", "x" * 44, b"\xff" * 44, None, 12345):
        assert cu.validate_key(bad) is False  # type: ignore[arg-type]
    cu.set_key("not a key")  # accepted, as in the original; refused when used
    with pytest.raises(ValueError, match="Invalid AES key"):
        cu.encrypt_string("x")
    cu.set_key(None)
    with pytest.raises(RuntimeError, match="No encryption key is set"):
        cu.encrypt_string("x")


def test_cipher_tokens_interoperate_with_plain_fernet_both_ways() -> None:
    key = generate_key()
    for password in ("", "simple", "ünïcødé ✓ 🤖", "x" * 600, "line\nbreak\ttab"):
        made_here = Cipher(key.decode()).encrypt(password)
        assert Fernet(key).decrypt(made_here.encode()).decode() == password
        made_by_original = Fernet(key).encrypt(password.encode()).decode()
        assert Cipher(key).decrypt(made_by_original) == password


def test_sdk_reads_a_credential_written_the_original_way(
    db_url: str, crypto_key: str, store: Store
) -> None:
    password = "written by 2.x"
    token = Fernet(crypto_key.encode()).encrypt(password.encode()).decode()
    with store.engine.begin() as connection:
        connection.execute(
            insert(Credential).values(
                name="old", username="legacy", password=token, changed_at=datetime.now()
            )
        )
    with openorch.OrchestratorConnection("R", db_url, crypto_key, "") as connection:
        assert connection.get_credential("old").password == "written by 2.x"
        connection.update_credential("old", "legacy", "written by openorch")
    raw = store.get_credential("old", decrypt_password=False).password
    assert Fernet(crypto_key.encode()).decrypt(raw.encode()).decode() == "written by openorch"
    with (
        openorch.OrchestratorConnection("R", db_url, generate_key(), "") as other,
        pytest.raises(ValueError, match="key does not match"),
    ):
        other.get_credential("old")


# --- db_util -------------------------------------------------------------------------------


@pytest.fixture
def db_util(db_url: str, crypto_key: str) -> Iterator[object]:
    """db_util connected to a fresh database, with crypto_util's key set; both reset after."""
    from OpenOrchestrator.common import crypto_util as cu
    from OpenOrchestrator.database import db_util as module

    saved = cu.get_key()
    cu.set_key(crypto_key)
    assert module.connect(db_url) is True
    yield module
    module.disconnect()
    cu.set_key(saved)


def test_db_util_needs_a_connection() -> None:
    from OpenOrchestrator.database import db_util

    db_util.disconnect()
    assert db_util.get_conn_string() is None
    with pytest.raises(RuntimeError, match=r"call db_util.connect\(conn_string\) first"):
        db_util.get_constants()
    assert db_util.connect("not a url") is False
    assert db_util.connect("sqlite:////nonexistent-folder/x/y.db") is False
    assert db_util.get_conn_string() is None


def test_db_util_end_to_end(db_util: object, db_url: str, crypto_key: str) -> None:
    from OpenOrchestrator.common import crypto_util as cu
    from OpenOrchestrator.database import db_util as du

    assert du.get_conn_string() == db_url
    assert du.check_database_revision() is True

    du.create_constant("c", "1")
    du.update_constant("c", "2")
    assert du.get_constant("c").value == "2" and len(du.get_constants()) == 1
    du.delete_constant("c")
    with pytest.raises(ValueError, match="'c'"):
        du.get_constant("c")

    du.create_credential("k", "user", "pw")
    assert du.get_credential("k").password == "pw"
    assert du.get_credential("k", decrypt_password=False).password.startswith("gAAAAA")
    cu.set_key(cu.generate_key())  # db_util follows crypto_util's current key
    with pytest.raises(ValueError, match="key does not match"):
        du.get_credential("k")
    cu.set_key(crypto_key)
    du.update_credential("k", "user2", "pw2")
    assert du.get_credential("k").username == "user2"
    assert len(du.get_credentials()) == 1
    du.delete_credential("k")

    past = datetime.now() - timedelta(minutes=1)
    single = du.create_single_trigger("s", "P", past, "p.py", "", False, False, 0)
    scheduled = du.create_scheduled_trigger(
        "c", "P", "*/5 * * * *", past, "p.py", None, False, True, 2, ["RPA01"], "main"
    )
    queue = du.create_queue_trigger("q", "P", "jobs", "p.py", "a b", False, False, 1, 1)
    assert {t.id for t in du.get_all_triggers()} == {single, scheduled, queue}
    assert [t.id for t in du.get_single_triggers()] == [single]
    assert [t.id for t in du.get_scheduled_triggers()] == [scheduled]
    assert [t.id for t in du.get_queue_triggers()] == [queue]
    assert [t.id for t in du.get_pending_single_triggers()] == [single]
    assert [t.id for t in du.get_pending_scheduled_triggers()] == [scheduled]
    assert du.get_pending_queue_triggers() == []  # lists, as the original returns
    assert du.begin_single_trigger(single) is True
    assert du.begin_single_trigger(single) is False
    began = datetime.now()
    assert du.begin_scheduled_trigger(scheduled) is True
    assert du.get_trigger(scheduled).next_run > began  # type: ignore[attr-defined]
    du.set_trigger_status(scheduled, TriggerStatus.PAUSED)
    trigger = du.get_trigger(queue)
    trigger.trigger_name = "renamed"
    du.update_trigger(trigger)
    assert du.get_trigger(queue).trigger_name == "renamed"
    du.delete_trigger(single)
    with pytest.raises(ValueError, match="No trigger"):
        du.get_trigger(single)

    job = du.start_job("P", "RPA01")
    du.create_log("P", "INFO", job.id, "hello")
    logs, total = du.get_logs(0, 10, job_id=job.id, include_count=True)
    assert total == 1 and logs[0].log_message == "hello"
    assert du.get_unique_log_process_names() == ("P",)
    du.set_job_status(job.id, JobStatus.DONE)
    assert du.get_job(job.id).end_time is not None
    assert [j.id for j in du.get_jobs(status="DONE", process_name="P")] == [job.id]

    du.bulk_create_queue_elements("jobs", ["a", "b"], ["1", "2"], "me")
    element = du.create_queue_element("jobs", "c", "needle in data")
    assert du.get_pending_queue_triggers()[0].id == queue
    assert du.begin_queue_trigger(queue) is True
    first = du.get_next_queue_element("jobs")
    assert first is not None and first.status == QueueStatus.IN_PROGRESS
    elements, count = du.get_queue_elements("jobs", search_term="needle", include_count=True)
    assert count == 1 and elements[0].id == element.id
    assert [
        e.reference for e in du.get_queue_elements("jobs", order_by="reference", order_desc=True)
    ] == ["c", "b", "a"]
    du.update_queue_element(element.id, message="m", status="FAILED")
    assert du.get_queue_element(element.id).message == "m"
    du.set_queue_element_status(first.id, "DONE", "ok")
    assert du.get_queue_count()["jobs"] == {  # only the statuses present, as the original
        QueueStatus.NEW: 1,
        QueueStatus.DONE: 1,
        QueueStatus.FAILED: 1,
    }
    du.delete_queue_element(element.id)
    with pytest.raises(ValueError, match="No queue element"):
        du.get_queue_element(element.id)
    with pytest.raises(ValueError, match="No queue element"):
        du.get_queue_element(uuid.uuid4())

    du.send_ping_from_scheduler("RPA01")
    du.start_trigger_from_machine("RPA01", "renamed")
    (scheduler,) = du.get_schedulers()
    assert scheduler.latest_trigger == "renamed"

    du.disconnect()
    assert du.get_conn_string() is None

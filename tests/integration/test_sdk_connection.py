"""`OrchestratorConnection`, method by method, against the SDK reference (docs/sdk.md),
on SQLite and PostgreSQL."""

import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from openorch import OrchestratorConnection
from openorch.crypto import describe_encrypted_password, generate_key
from openorch.database import (
    Constant,
    Credential,
    LogLevel,
    QueueElement,
    QueueStatus,
    TriggerStatus,
)
from openorch.store import Store


@pytest.fixture
def conn(db_url: str, crypto_key: str) -> Iterator[OrchestratorConnection]:
    """A connection as a process started by the Scheduler would have (no trigger)."""
    with OrchestratorConnection("Robot", db_url, crypto_key, "--fast") as connection:
        yield connection


# --- constructor and command line ---------------------------------------------------------


def test_attributes_and_optional_ids(db_url: str, crypto_key: str) -> None:
    trigger_id, job_id = uuid.uuid4(), uuid.uuid4()
    with OrchestratorConnection(
        "Robot", db_url, crypto_key, "a b", str(trigger_id), job_id
    ) as connection:
        assert connection.process_name == "Robot"
        assert connection.process_arguments == "a b"
        assert connection.trigger_id == trigger_id
        assert connection.job_id == job_id
        assert repr(connection) == str(connection) == "OrchestratorConnection - Process name: Robot"
    with OrchestratorConnection("Robot", db_url, crypto_key, None) as connection:
        assert connection.process_arguments == ""
        assert connection.trigger_id is None and connection.job_id is None


@pytest.mark.parametrize(
    "key",
    ["not a key", pytest.param(generate_key()[:-4].decode(), id="truncated-key"), "ø" * 44, b"x"],
)
def test_a_bad_key_is_taken_and_fails_when_a_credential_is_used(
    db_url: str, key: str, store: Store
) -> None:
    """As in OpenOrchestrator 3.0.0: a script run with a dummy key logs, reads constants
    and works queues; a credential says what is wrong with the key."""
    store.create_constant("c", "v")
    store.create_credential("c", "user", "secret")
    with OrchestratorConnection("Robot", db_url, key, "") as connection:
        connection.log_info("with a dummy key")
        assert connection.get_constant("c").value == "v"
        connection.create_queue_element("q", "r")
        for use in (
            lambda: connection.get_credential("c"),
            lambda: connection.update_credential("c", "u", "p"),
        ):
            with pytest.raises(ValueError, match="Invalid AES key") as caught:
                use()
            assert str(key) not in str(caught.value)
    assert [log.log_message for log in store.get_logs(0, 10)] == ["with a dummy key"]


@pytest.mark.parametrize("key", ["", None])
def test_no_key_is_taken_and_fails_when_a_credential_is_used(
    db_url: str, key: str | None, store: Store
) -> None:
    store.create_credential("c", "user", "secret")
    with OrchestratorConnection("Robot", db_url, key, "") as connection:  # type: ignore[arg-type]
        connection.log_info("no key")
        with pytest.raises(RuntimeError, match="No encryption key is set"):
            connection.get_credential("c")


def test_a_bad_key_from_the_command_line_is_taken_too(
    sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["s.py", "Robot", sqlite_db_url, "bad key", ""])
    with OrchestratorConnection.create_connection_from_args() as connection:
        connection.log_info("started by hand")
        with pytest.raises(ValueError, match="Invalid AES key"):
            connection.update_credential("c", "u", "p")


def test_unreachable_database_says_it_is_the_database(tmp_path: Path, crypto_key: str) -> None:
    with pytest.raises(ConnectionError, match="SQLite file cannot be opened"):
        OrchestratorConnection("R", f"sqlite:///{tmp_path}/missing/dir/x.db", crypto_key, "")
    with pytest.raises(ConnectionError, match="unreachable"):
        OrchestratorConnection(
            "R", "postgresql+psycopg://u:secret@127.0.0.1:1/db?connect_timeout=2", crypto_key, ""
        )
    with pytest.raises(ValueError, match="Malformed connection string"):
        OrchestratorConnection("R", "no url at all", crypto_key, "")
    # The original failed at the first call with a RuntimeError: those clauses catch.
    for url in ("no url at all", f"sqlite:///{tmp_path}/missing/dir/x.db"):
        with pytest.raises(RuntimeError):
            OrchestratorConnection("R", url, crypto_key, "")


def test_bad_ids_and_names_are_refused(sqlite_db_url: str, crypto_key: str) -> None:
    with pytest.raises(ValueError, match="trigger_id is not a valid UUID"):
        OrchestratorConnection("R", sqlite_db_url, crypto_key, "", "123")
    with pytest.raises(ValueError, match="job_id is not a valid UUID"):
        OrchestratorConnection("R", sqlite_db_url, crypto_key, "", None, "x")
    with pytest.raises(ValueError, match="process_name is too long"):
        OrchestratorConnection("R" * 101, sqlite_db_url, crypto_key, "")
    with pytest.raises(ValueError, match="process_arguments must be a string"):
        OrchestratorConnection("R", sqlite_db_url, crypto_key, 5)  # type: ignore[arg-type]


@pytest.mark.parametrize("count", [4, 5, 6])
def test_create_connection_from_args(
    count: int, sqlite_db_url: str, crypto_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger_id, job_id = uuid.uuid4(), uuid.uuid4()
    argv = [
        "script.py",
        "Robot",
        sqlite_db_url,
        crypto_key,
        'x "y" ü',
        str(trigger_id),
        str(job_id),
    ]
    monkeypatch.setattr(sys, "argv", argv[: count + 1])
    with OrchestratorConnection.create_connection_from_args() as connection:
        assert connection.process_name == "Robot"
        assert connection.process_arguments == 'x "y" ü'
        assert connection.trigger_id == (trigger_id if count >= 5 else None)
        assert connection.job_id == (job_id if count >= 6 else None)


def test_empty_trigger_and_job_arguments_mean_none(
    sqlite_db_url: str, crypto_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["s.py", "Robot", sqlite_db_url, crypto_key, "", "", ""])
    with OrchestratorConnection.create_connection_from_args() as connection:
        assert connection.trigger_id is None and connection.job_id is None


@pytest.mark.parametrize("count", [0, 1, 2, 3])
def test_too_few_arguments_name_what_is_missing(
    count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = ["Robot", "sqlite://", "key"][:count]
    monkeypatch.setattr(sys, "argv", ["robot.py", *given])
    names = ("process_name", "connection_string", "crypto_key", "process_args")
    with pytest.raises(ValueError) as caught:
        OrchestratorConnection.create_connection_from_args()
    assert isinstance(caught.value, IndexError)  # what the original raised
    message = str(caught.value)
    assert f"Missing command-line argument(s): {', '.join(names[count:])}" in message
    assert "python robot.py <process_name> <connection_string> <crypto_key>" in message


# --- logs ---------------------------------------------------------------------------------


def test_logs_carry_level_process_and_job(db_url: str, crypto_key: str, store: Store) -> None:
    job = store.start_job("Robot", "RPA01")
    with OrchestratorConnection("Robot", db_url, crypto_key, "", None, job.id) as connection:
        before = datetime.now() - timedelta(seconds=1)
        connection.log_trace("t")
        connection.log_info("i")
        connection.log_error("e")
    logs = store.get_logs(0, 10, order_desc=False)
    assert [(log.log_level, log.log_message) for log in logs] == [
        (LogLevel.TRACE, "t"),
        (LogLevel.INFO, "i"),
        (LogLevel.ERROR, "e"),
    ]
    assert all(log.job_id == job.id and log.process_name == "Robot" for log in logs)
    assert all(before <= log.log_time <= datetime.now() for log in logs)


def test_long_log_message_keeps_head_and_tail(conn: OrchestratorConnection) -> None:
    message = "H" * 4000 + "middle" * 1000 + "T" * 4001
    conn.log_info(message)
    (log,) = conn.store.get_logs(0, 1)
    assert len(log.log_message) == 8000
    assert log.log_message == message[:4000] + message[-4000:]
    conn.log_info("x" * 8000)
    assert conn.store.get_logs(0, 1)[0].log_message == "x" * 8000


# --- constants and credentials ------------------------------------------------------------


def test_constants(conn: OrchestratorConnection) -> None:
    conn.store.create_constant("greeting", "hello")
    constant = conn.get_constant("greeting")
    assert isinstance(constant, Constant) and constant.value == "hello"
    first = constant.changed_at
    time.sleep(0.01)
    conn.update_constant("greeting", "goodbye")
    changed = conn.get_constant("greeting")
    assert changed.value == "goodbye" and changed.changed_at > first
    with pytest.raises(ValueError, match="'missing'"):
        conn.get_constant("missing")
    with pytest.raises(ValueError, match="'missing'"):
        conn.update_constant("missing", "x")
    with pytest.raises(ValueError, match="value is too long: 1001 characters, the limit is 1000"):
        conn.update_constant("greeting", "v" * 1001)


def test_credentials(conn: OrchestratorConnection) -> None:
    conn.store.create_credential("mail", "robot", "pw1")
    credential = conn.get_credential("mail")
    assert isinstance(credential, Credential)
    assert (credential.username, credential.password) == ("robot", "pw1")
    conn.update_credential("mail", "robot2", "pw2 ü")
    stored = conn.store.get_credential("mail", decrypt_password=False)
    assert stored.password.startswith("gAAAAA") and "pw2" not in stored.password
    assert (conn.get_credential("mail").username, conn.get_credential("mail").password) == (
        "robot2",
        "pw2 ü",
    )
    with pytest.raises(ValueError, match="'nope'"):
        conn.get_credential("nope")
    with pytest.raises(ValueError, match="'nope'"):
        conn.update_credential("nope", "u", "p")


def test_credential_with_another_key_says_the_key_does_not_match(
    db_url: str, conn: OrchestratorConnection
) -> None:
    conn.store.create_credential("mail", "robot", "pw")
    with (
        OrchestratorConnection("R", db_url, generate_key(), "") as other,
        pytest.raises(ValueError, match="key does not match"),
    ):
        other.get_credential("mail")


def test_credential_description_hides_the_password(conn: OrchestratorConnection) -> None:
    conn.store.create_credential("mail", "robot", "p" * 30)
    token = conn.store.get_credential("mail", decrypt_password=False).password
    n = len(token)
    low = int(((n - 100) / 20) * 16)
    described = describe_encrypted_password(conn.store.get_credentials()[0].password)
    assert described == f"{n} encrypted bytes. {low}-{low + 15} decrypted bytes."
    assert low <= 30 <= low + 15


# --- queues ------------------------------------------------------------------------------


def test_create_queue_element(conn: OrchestratorConnection) -> None:
    before = datetime.now() - timedelta(seconds=1)
    element = conn.create_queue_element("q", "ref", '{"a": 1}', "me")
    assert isinstance(element, QueueElement)
    assert (element.queue_name, element.reference, element.data, element.created_by) == (
        "q",
        "ref",
        '{"a": 1}',
        "me",
    )
    assert element.status == QueueStatus.NEW
    assert before <= element.created_date <= datetime.now()
    assert element.start_date is None and element.end_date is None and element.message is None
    bare = conn.create_queue_element("q")
    assert bare.reference is None and bare.data is None and bare.created_by is None


def test_bulk_create_rules(conn: OrchestratorConnection) -> None:
    conn.bulk_create_queue_elements("q", ("a", "b", None), ("1", None, "3"), "bulk")
    elements = conn.get_queue_elements("q")
    assert sorted((e.reference or "", e.data or "") for e in elements) == [
        ("", "3"),
        ("a", "1"),
        ("b", ""),
    ]
    assert {e.created_by for e in elements} == {"bulk"}
    with pytest.raises(ValueError, match="must not be empty"):
        conn.bulk_create_queue_elements("q", [], [])
    with pytest.raises(ValueError, match="same length; got 2 and 1"):
        conn.bulk_create_queue_elements("q", ["a", "b"], ["1"])
    with pytest.raises(ValueError, match=r"reference\[1\] is too long"):
        conn.bulk_create_queue_elements("q", ["a", "b" * 101], ["1", "2"])
    assert len(conn.get_queue_elements("q")) == 3


@pytest.mark.slow
def test_bulk_create_100000_elements_is_fast(conn: OrchestratorConnection) -> None:
    count = 100_000
    started = time.perf_counter()
    conn.bulk_create_queue_elements(
        "big", [f"ref{i}" for i in range(count)], [f'{{"i": {i}}}' for i in range(count)]
    )
    elapsed = time.perf_counter() - started
    assert conn.store.get_queue_count()["big"][QueueStatus.NEW] == count
    assert elapsed < 30, f"100,000 elements took {elapsed:.1f} s"


def test_get_next_queue_element_oldest_first_and_by_reference(
    conn: OrchestratorConnection,
) -> None:
    first = conn.create_queue_element("q", "a")
    time.sleep(0.002)
    second = conn.create_queue_element("q", "b")
    time.sleep(0.002)
    conn.create_queue_element("other", "a")

    peek = conn.get_next_queue_element("q", set_status=False)
    assert peek is not None and peek.id == first.id and peek.status == QueueStatus.NEW
    by_ref = conn.get_next_queue_element("q", reference="b")
    assert by_ref is not None and by_ref.id == second.id
    assert by_ref.status == QueueStatus.IN_PROGRESS and by_ref.start_date is not None
    claimed = conn.get_next_queue_element("q")
    assert claimed is not None and claimed.id == first.id
    assert conn.get_next_queue_element("q") is None
    assert conn.get_next_queue_element("q", reference="zzz") is None


def test_get_queue_elements_newest_first_with_filters(conn: OrchestratorConnection) -> None:
    made = []
    for i in range(5):
        made.append(conn.create_queue_element("q", "same" if i % 2 else f"r{i}", str(i)))
        time.sleep(0.002)
    conn.set_queue_element_status(made[1].id, QueueStatus.DONE)
    everything = conn.get_queue_elements("q")
    assert [e.id for e in everything] == [e.id for e in reversed(made)]
    assert [e.id for e in conn.get_queue_elements("q", reference="same")] == [
        made[3].id,
        made[1].id,
    ]
    assert [e.id for e in conn.get_queue_elements("q", status=QueueStatus.DONE)] == [made[1].id]
    assert [e.id for e in conn.get_queue_elements("q", status="NEW", offset=1, limit=2)] == [
        made[3].id,
        made[2].id,
    ]
    window = conn.get_queue_elements(
        "q", from_date=made[1].created_date, to_date=made[3].created_date
    )
    assert [e.id for e in window] == [made[3].id, made[2].id, made[1].id]
    assert conn.get_queue_elements("empty") == ()


def test_set_queue_element_status_dates_and_message(conn: OrchestratorConnection) -> None:
    element = conn.create_queue_element("q", "r")
    conn.set_queue_element_status(element.id, QueueStatus.IN_PROGRESS, "working")
    got = conn.store.get_queue_element(element.id)
    assert got.start_date is not None and got.end_date is None and got.message == "working"
    conn.set_queue_element_status(str(element.id), "DONE")
    got = conn.store.get_queue_element(element.id)
    assert got.status == QueueStatus.DONE and got.end_date is not None
    assert got.message == "working", "no message given keeps the old one"
    for status in (QueueStatus.FAILED, QueueStatus.ABANDONED):
        conn.set_queue_element_status(element.id, status, f"now {status.name}")
        got = conn.store.get_queue_element(element.id)
        assert got.status == status and got.message == f"now {status.name}"
    with pytest.raises(ValueError, match="No queue element"):
        conn.set_queue_element_status(uuid.uuid4(), QueueStatus.DONE)
    with pytest.raises(ValueError, match="status must be one of NEW, IN_PROGRESS"):
        conn.set_queue_element_status(element.id, "FINISHED")
    with pytest.raises(ValueError, match="element_id is not a valid UUID"):
        conn.set_queue_element_status("42", QueueStatus.DONE)


def test_delete_queue_element(conn: OrchestratorConnection) -> None:
    element = conn.create_queue_element("q")
    conn.delete_queue_element(str(element.id))
    assert conn.get_queue_elements("q") == ()
    with pytest.raises(ValueError, match="No queue element"):
        conn.delete_queue_element(element.id)


# --- the trigger that started the process -------------------------------------------------


def test_pausing_my_trigger(db_url: str, crypto_key: str, store: Store) -> None:
    trigger_id = store.create_queue_trigger("t", "Robot", "q", "robot.py", "", False, False, 1)
    assert store.begin_trigger(trigger_id)  # the process runs: its trigger is RUNNING
    with OrchestratorConnection("Robot", db_url, crypto_key, "", trigger_id) as connection:
        assert connection.is_trigger_pausing() is False
        connection.pause_my_trigger()
        assert connection.is_trigger_pausing() is True
        assert store.get_trigger(trigger_id).process_status == TriggerStatus.PAUSING
        store.set_trigger_status(trigger_id, TriggerStatus.PAUSED)
        assert connection.is_trigger_pausing() is True
        store.set_trigger_status(trigger_id, TriggerStatus.RUNNING)
        assert connection.is_trigger_pausing() is False
        store.delete_trigger(trigger_id)
        with pytest.raises(ValueError, match="No trigger"):
            connection.is_trigger_pausing()


def test_without_a_trigger_nothing_is_paused(conn: OrchestratorConnection) -> None:
    assert conn.is_trigger_pausing() is False
    conn.pause_my_trigger()
    assert "no trigger to pause" in conn.store.get_logs(0, 1)[0].log_message


# --- returned objects ---------------------------------------------------------------------


def test_returned_objects_stay_readable_after_the_connection_closes(
    db_url: str, crypto_key: str
) -> None:
    connection = OrchestratorConnection("R", db_url, crypto_key, "")
    connection.store.create_constant("c", "v")
    connection.store.create_credential("k", "u", "p")
    connection.create_queue_element("q", "r", "d")
    constant = connection.get_constant("c")
    credential = connection.get_credential("k")
    element = connection.get_next_queue_element("q")
    listed = connection.get_queue_elements("q")
    connection.close()
    assert (constant.name, constant.value, constant.changed_at is not None) == ("c", "v", True)
    assert (credential.name, credential.username, credential.password) == ("k", "u", "p")
    assert element is not None and element.status == QueueStatus.IN_PROGRESS
    assert listed[0].reference == "r" and listed[0].data == "d"


# --- two connections side by side ---------------------------------------------------------


def test_two_databases_two_keys_in_one_process(
    sqlite_db_url: str, tmp_path: Path, crypto_key: str
) -> None:
    from openorch import migrate
    from openorch.store import build_engine

    other_url = f"sqlite:///{tmp_path / 'second.db'}"
    engine = build_engine(other_url)
    migrate.upgrade(engine)
    engine.dispose()
    other_key = generate_key().decode()
    with (
        OrchestratorConnection("A", sqlite_db_url, crypto_key, "") as first,
        OrchestratorConnection("B", other_url, other_key, "") as second,
    ):
        first.store.create_credential("login", "first-user", "first-pw")
        second.store.create_credential("login", "second-user", "second-pw")
        first.store.create_constant("where", "first")
        second.store.create_constant("where", "second")
        for _ in range(2):  # interleaved use must not leak state between them
            assert first.get_credential("login").password == "first-pw"
            assert second.get_credential("login").password == "second-pw"
            assert first.get_constant("where").value == "first"
            assert second.get_constant("where").value == "second"
        first.create_queue_element("q", "only-in-first")
        assert second.get_next_queue_element("q") is None
        with (
            OrchestratorConnection("X", other_url, crypto_key, "") as crossed,
            pytest.raises(ValueError, match="key does not match"),
        ):
            crossed.get_credential("login")

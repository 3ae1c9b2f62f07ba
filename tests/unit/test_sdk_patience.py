"""The SDK's ride through a database outage, decided without a database: what is
retried, what is raised at once, and who waits at all."""

import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import exc

from openorch.sdk import connection as sdk
from openorch.sdk.connection import OrchestratorConnection

CUT = "server closed the connection unexpectedly"
REFUSED = (
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused'
)


def _conn(job: bool = True, patience: float = 60.0) -> OrchestratorConnection:
    oc = OrchestratorConnection.__new__(OrchestratorConnection)
    oc._job_key = uuid.uuid4() if job else None
    oc._store = SimpleNamespace(dialect="postgresql")  # type: ignore[assignment]
    oc.outage_patience = patience
    return oc


def _failing(times: int, message: str) -> tuple[list[int], object]:
    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise exc.OperationalError("SELECT 1", {}, Exception(message))
        return "answer"

    return calls, work


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    naps: list[float] = []
    monkeypatch.setattr(sdk.time, "sleep", naps.append)
    return naps


def test_repeatable_work_waits_out_an_outage(capsys: pytest.CaptureFixture[str]) -> None:
    calls, work = _failing(3, CUT)
    assert _conn()._patiently(work) == "answer"  # type: ignore[arg-type]
    assert len(calls) == 4
    assert capsys.readouterr().err.count("retrying for up to 60 s") == 1


def test_unrepeatable_work_is_retried_only_when_the_server_was_never_reached() -> None:
    calls, work = _failing(1, CUT)
    with pytest.raises(exc.OperationalError):
        _conn()._patiently(work, repeatable=False)  # type: ignore[arg-type]
    assert len(calls) == 1
    calls, work = _failing(2, REFUSED)
    assert _conn()._patiently(work, repeatable=False) == "answer"  # type: ignore[arg-type]


def test_by_hand_or_out_of_patience_raises_at_once() -> None:
    calls, work = _failing(1, CUT)
    with pytest.raises(exc.OperationalError):
        _conn(job=False)._patiently(work)  # type: ignore[arg-type]
    assert len(calls) == 1
    calls, work = _failing(1, CUT)
    with pytest.raises(exc.OperationalError):
        _conn(patience=0.1)._patiently(work)  # type: ignore[arg-type]
    assert len(calls) == 1


def test_other_errors_are_not_outages() -> None:
    def work() -> None:
        raise ValueError("No queue element with id ... exists.")

    with pytest.raises(ValueError):
        _conn()._patiently(work)

"""Helpers for the Scheduler tests: settings in a temp folder, triggers, polling loops."""

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from openorch.database import JobStatus, Log, TriggerStatus
from openorch.scheduler import SchedulerEngine, SchedulerSettings
from openorch.store import Store

HERE = Path(__file__).resolve().parent


def script(name: str) -> str:
    """Absolute path of a test process script in this folder."""
    return str(HERE / name)


def make_settings(url: str, key: str, folder: Path, **changes: object) -> SchedulerSettings:
    """Settings with files under `folder` and a quick poll."""
    values: dict[str, object] = {
        "name": "test-scheduler",
        "poll_interval": 0.2,
        "clone_dir": folder / "clones",
        "log_dir": folder / "logs",
        "grace_period": 5.0,
        "heartbeat_timeout": 120.0,
    }
    values.update(changes)
    return SchedulerSettings(conn_string=url, crypto_key=key, **values)  # type: ignore[arg-type]


def make_engine(
    url: str,
    key: str,
    store: Store,
    folder: Path,
    lines: list[str] | None = None,
    **changes: object,
) -> SchedulerEngine:
    """An engine over `store` (the test keeps ownership) whose output goes to `lines`."""
    sink = lines if lines is not None else []
    return SchedulerEngine(make_settings(url, key, folder, **changes), store, sink.append)


def single_due(
    store: Store, path: str, args: str = "", name: str | None = None, **options: object
) -> uuid.UUID:
    """A single trigger due a second ago."""
    return store.create_single_trigger(
        name or f"t-{uuid.uuid4().hex[:8]}",
        str(options.pop("process_name", "test process")),
        datetime.now() - timedelta(seconds=1),
        path,
        args,
        bool(options.pop("is_git_repo", False)),
        bool(options.pop("is_blocking", False)),
        **options,  # type: ignore[arg-type]
    )


def poll_until(
    engine: SchedulerEngine, done: Callable[[], bool], timeout: float = 30.0, pause: float = 0.05
) -> None:
    """Poll the engine until `done()` holds; fail with the engine's state otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        engine.poll()
        if done():
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not done after {timeout} s; running={engine.running_jobs}, "
                f"unreported={engine.unreported}"
            )
        time.sleep(pause)


def trigger_status(store: Store, trigger_id: uuid.UUID) -> TriggerStatus:
    """The trigger's status now."""
    return store.get_trigger(trigger_id).process_status


def jobs_of(store: Store, trigger_id: uuid.UUID) -> list:
    """Every job of one trigger."""
    return [job for job in store.get_jobs() if job.trigger_id == trigger_id]


def job_ended(store: Store, trigger_id: uuid.UUID) -> bool:
    """True when the trigger has a job and none is RUNNING."""
    jobs = jobs_of(store, trigger_id)
    return bool(jobs) and all(job.status is not JobStatus.RUNNING for job in jobs)


def logs_of(store: Store, job_id: uuid.UUID) -> list[Log]:
    """Every log row of one job."""
    return list(store.get_logs(limit=1000, job_id=job_id))

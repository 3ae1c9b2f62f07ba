"""`GET /metrics` on a real `openorch api` server (issue 29), on SQLite and PostgreSQL:
a scrape parsed with prometheus_client's own parser, each value checked against the
database (read here with plain queries, not the data layer's metrics code); only a
token with the METRICS scope may scrape."""

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openorch.database import Alert, Job, JobStatus, QueueElement, QueueStatus, ReviewItem
from openorch.store import Store
from openorch.store.ops.metrics import DURATION_BUCKETS
from openorch.store.queues import search
from support.api_server import ApiServer
from support.every_kind import fill_every_table

#: Run times (seconds) of the ended jobs added for the histogram.
TIMED = (0.5, 3, 10, 100, 7200)


def _scrape(server: ApiServer, token: str, path: str = "/metrics") -> dict[str, dict]:
    """{family name: {(sample name, labels as sorted tuple): value}}."""
    import httpx

    answer = httpx.get(
        f"{server.base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    families: dict[str, dict] = {}
    for family in text_string_to_metric_families(answer.text):
        families[family.name] = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for sample in family.samples
        }
    return families


def _fill(store: Store) -> None:
    fill_every_table(store)
    for number in range(4):
        store.create_queue_element("metrics_q", f"m{number}")
    worker = store.start_job("metrics robot", "vm1")
    store.get_next_queue_element("metrics_q", job_id=worker.id)
    for _ in range(2):  # two business failures of metrics_q in the review inbox
        failed = store.get_next_queue_element("metrics_q", job_id=worker.id)
        assert failed is not None
        store.set_queue_element_status(failed.id, "FAILED", "No such customer", kind="business")
    now = datetime.now().replace(microsecond=0)
    with Session(store.engine) as session, session.begin():
        for seconds in TIMED:
            start = now - timedelta(hours=3)
            session.add(
                Job(
                    process_name="timed",
                    scheduler_name="vm1",
                    start_time=start,
                    end_time=start + timedelta(seconds=seconds),
                    status=JobStatus.DONE,
                )
            )


def test_a_scrape_matches_the_database(db_url: str, crypto_key: str, tmp_path: Path) -> None:
    store = Store(db_url, crypto_key=crypto_key)
    _fill(store)
    _token, metrics_secret = store.create_api_token("prometheus", ["METRICS"])
    _token, read_secret = store.create_api_token("reader", ["READ"])
    claims = store.claim_counts()
    server = ApiServer(tmp_path, db_url)
    try:
        families = _scrape(server, metrics_secret)
        assert _scrape(server, metrics_secret, "/api/metrics").keys() == families.keys()
        import httpx

        refused = httpx.get(
            f"{server.base}/metrics", headers={"Authorization": f"Bearer {read_secret}"}
        )
        assert refused.status_code == 403 and "METRICS" in refused.json()["detail"]
        assert httpx.get(f"{server.base}/metrics").status_code == 401
    finally:
        server.stop()

    with Session(store.engine) as session:
        elements = {
            (queue, status.name): count
            for queue, status, count in session.execute(
                select(QueueElement.queue_name, QueueElement.status, func.count()).group_by(
                    QueueElement.queue_name, QueueElement.status
                )
            )
        }
        day_ago = datetime.now() - timedelta(hours=24)
        ended = {
            (process, status.name): count
            for process, status, count in session.execute(
                select(Job.process_name, Job.status, func.count())
                .where(Job.status != JobStatus.RUNNING, Job.end_time >= day_ago)
                .group_by(Job.process_name, Job.status)
            )
        }
        running = {
            process: count
            for process, count in session.execute(
                select(Job.process_name, func.count())
                .where(Job.status == JobStatus.RUNNING)
                .group_by(Job.process_name)
            )
        }
        open_alerts = Counter(
            session.scalars(select(Alert.rule).where(Alert.closed_at.is_(None))).all()
        )
        reviews = dict(
            session.execute(
                select(ReviewItem.queue_name, func.count())
                .join(QueueElement, QueueElement.id == ReviewItem.element_id)
                .where(ReviewItem.state == "open", QueueElement.status == QueueStatus.FAILED)
                .group_by(ReviewItem.queue_name)
            ).all()
        )
        waiting = None
        if search.search_indexed(session.connection()):
            waiting = search.backlog(session.connection())
        new_queues = set(
            session.scalars(
                select(QueueElement.queue_name).where(QueueElement.status == QueueStatus.NEW)
            ).all()
        )
    store.close()

    gauge = families["openorch_queue_elements"]
    queues = {queue for queue, _ in elements}
    assert queues >= {"metrics_q", "bulk", "outbox", "steps"}
    for queue in queues:
        for status in QueueStatus:
            labels = (("queue", queue), ("status", status.name))
            assert gauge[("openorch_queue_elements", labels)] == elements.get(
                (queue, status.name), 0
            )
    assert gauge[("openorch_queue_elements", (("queue", "metrics_q"), ("status", "NEW")))] == 1

    assert {
        dict(labels)["queue"]: value
        for (_, labels), value in families["openorch_queue_claims"].items()
        if _ == "openorch_queue_claims_total"
    } == claims
    assert claims is not None and claims["metrics_q"] == 3  # one worked, two failed
    assert {
        dict(labels)["queue"]: value
        for (_, labels), value in families["openorch_review_open"].items()
    } == reviews
    assert reviews == {"metrics_q": 2, "bulk": 1}
    review_ages = families["openorch_review_oldest_open_age_seconds"]
    assert {dict(labels)["queue"] for _, labels in review_ages} == set(reviews)
    assert all(0 <= age < 300 for age in review_ages.values()), review_ages
    if waiting is None:  # no search index (SQLite's is opt-in): no such family
        assert "openorch_search_index_waiting" not in families
    else:
        assert families["openorch_search_index_waiting"] == {
            ("openorch_search_index_waiting", ()): waiting
        }
        assert waiting > 0  # nothing indexed them: no Scheduler holds the lease here

    ages = families["openorch_queue_oldest_new_age_seconds"]
    assert {dict(labels)["queue"] for _, labels in ages} == new_queues
    assert all(0 <= age < 300 for age in ages.values()), ages

    counted = families["openorch_jobs_ended_24h"]
    assert {
        (dict(labels)["process"], dict(labels)["status"]): value
        for (_, labels), value in counted.items()
    } == ended
    assert ended[("timed", "DONE")] == len(TIMED) and ended[("mailer", "FAILED")] == 1
    assert {
        dict(labels)["process"]: value
        for (_, labels), value in families["openorch_jobs_running"].items()
    } == running
    assert running == {"pipeline": 1, "metrics robot": 1}

    histogram = families["openorch_job_duration_24h_seconds"]
    timed = (("process", "timed"),)
    assert histogram[("openorch_job_duration_24h_seconds_count", timed)] == len(TIMED)
    assert histogram[("openorch_job_duration_24h_seconds_sum", timed)] == pytest.approx(sum(TIMED))
    for bound in DURATION_BUCKETS:
        labels = (("le", repr(float(bound))), ("process", "timed"))
        expected = sum(1 for seconds in TIMED if seconds <= bound)
        assert histogram[("openorch_job_duration_24h_seconds_bucket", labels)] == expected, bound
    inf = (("le", "+Inf"), ("process", "timed"))
    assert histogram[("openorch_job_duration_24h_seconds_bucket", inf)] == len(TIMED)

    up = families["openorch_scheduler_up"]
    # fill_every_table's "vm1" and "old-machine" just sent heartbeats: both alive.
    assert up == {
        ("openorch_scheduler_up", (("scheduler", "old-machine"),)): 1.0,
        ("openorch_scheduler_up", (("scheduler", "vm1"),)): 1.0,
    }
    silent = families["openorch_scheduler_heartbeat_age_seconds"]
    assert len(silent) == 2 and all(0 <= value < 300 for value in silent.values())

    alerts = families["openorch_open_alerts"]
    assert {dict(labels)["rule"]: value for (_, labels), value in alerts.items()} == dict(
        open_alerts
    )
    assert open_alerts == {"job_failed": 1}


def test_the_orchestrator_serves_metrics_with_api(tmp_path: Path) -> None:
    """`openorch o --api` serves the same endpoint at /api/metrics (local mode)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import httpx

    from support.api_server import free_port
    from support.original import OPENORCH_SRC

    home = tmp_path / "home"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OpenOrchestrator", "PYTEST", "NICEGUI"))
    }
    env.update(OPENORCH_HOME=str(home), PYTHONPATH=str(OPENORCH_SRC), PYTHONUNBUFFERED="1")
    port = free_port()
    output = tmp_path / "o.txt"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "openorch", "o", "--api", "-d", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "Orchestrator running on" not in output.read_text():
            assert process.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
        store = Store(f"sqlite:///{home / 'openorch.db'}")  # local mode's database
        store.create_queue_element("via_o", "r1")
        _token, secret = store.create_api_token("prometheus", ["METRICS"])
        store.close()
        url = f"http://127.0.0.1:{port}/api/metrics"
        assert httpx.get(url, timeout=10).status_code == 401
        answer = httpx.get(url, headers={"Authorization": f"Bearer {secret}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
        }
        assert samples[("openorch_queue_elements", (("queue", "via_o"), ("status", "NEW")))] == 1
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_an_allow_listed_address_scrapes_without_a_token(
    sqlite_db_url: str, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    import httpx

    inside = ApiServer(tmp_path, sqlite_db_url, "--metrics-allow", "127.0.0.0/8")
    try:
        answer = httpx.get(f"{inside.base}/metrics", timeout=10)
        assert answer.status_code == 200, answer.text
        assert "openorch_queue_elements" in answer.text
        # The allow-list opens /metrics only: the rest still needs a token.
        assert httpx.get(f"{inside.base}/api/v1/triggers", timeout=10).status_code == 401
    finally:
        inside.stop()
    outside = ApiServer(tmp_path, sqlite_db_url, "--metrics-allow", "10.1.0.0/16")
    try:
        assert httpx.get(f"{outside.base}/metrics", timeout=10).status_code == 401
    finally:
        outside.stop()
    from support.original import OPENORCH_SRC

    env = dict(os.environ, PYTHONPATH=str(OPENORCH_SRC), OPENORCH_HOME=str(tmp_path / "h"))
    command = [sys.executable, "-m", "openorch", "api", "--conn", sqlite_db_url]
    bad = subprocess.run(
        [*command, "--metrics-allow", "10.0.0.0/99"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert bad.returncode == 2 and "--metrics-allow wants an address" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_counters_and_prune_runs_in_a_scrape(db_url: str, crypto_key: str, tmp_path: Path) -> None:
    """The all-time job counters (folded by the watchdog) and the prune runs, as a real
    server renders them, parsed with prometheus_client's parser."""
    from openorch.database import Log, LogLevel, OpsState
    from openorch.store.runs.counters import WATERMARK

    store = Store(db_url, crypto_key=crypto_key)
    now = store.database_now()
    store.fold_job_counters()
    with Session(store.engine) as session, session.begin():
        mark = session.get(OpsState, WATERMARK)
        assert mark is not None
        mark.value = (now - timedelta(hours=1)).isoformat()
        for seconds in TIMED[:3]:
            end = now - timedelta(minutes=30)
            session.add(
                Job(
                    process_name="counted",
                    scheduler_name="vm1",
                    start_time=end - timedelta(seconds=seconds),
                    end_time=end,
                    status=JobStatus.DONE,
                )
            )
        for _ in range(4):
            session.add(
                Log(
                    log_time=now - timedelta(days=9),
                    log_level=LogLevel.INFO,
                    process_name="p",
                    log_message="old",
                )
            )
    assert store.fold_job_counters() == 3
    store.prune_by_policy({"logs": 5}, "tester")
    store.prune_by_policy({"logs": 5}, "tester", dry_run=True)  # not counted
    _token, secret = store.create_api_token("prometheus", ["METRICS"])
    store.close()
    server = ApiServer(tmp_path, db_url)
    try:
        families = _scrape(server, secret)
    finally:
        server.stop()
    counted = (("process", "counted"), ("status", "DONE"))
    assert families["openorch_jobs_ended"][("openorch_jobs_ended_total", counted)] == 3
    histogram = families["openorch_job_duration_seconds"]
    process = (("process", "counted"),)
    assert histogram[("openorch_job_duration_seconds_count", process)] == 3
    assert histogram[("openorch_job_duration_seconds_sum", process)] == pytest.approx(
        sum(TIMED[:3]), abs=0.01
    )
    five = (("le", "5.0"), ("process", "counted"))
    assert histogram[("openorch_job_duration_seconds_bucket", five)] == 2  # 0.5 s and 3 s
    assert families["openorch_prune_runs"] == {("openorch_prune_runs_total", ()): 1.0}
    pruned = families["openorch_pruned_rows"]
    assert pruned[("openorch_pruned_rows_total", (("kind", "logs"),))] == 4
    assert pruned[("openorch_pruned_rows_total", (("kind", "jobs"),))] == 0
    (age,) = families["openorch_prune_last_run_age_seconds"].values()
    assert 0 <= age < 300

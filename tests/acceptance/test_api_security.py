"""The HTTP API's guard rails, on one real `openorch api` server: tokens (missing,
unknown, revoked, expired, under-scoped) are refused and write nothing, the OpenAPI
schema validates, and fuzzed bodies get a 4xx (never a 500) and change nothing."""

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from openorch.database import ApiScope, TriggerStatus
from openorch.store import Store
from support.api_server import ApiServer


class Server:
    """The server, a store on its database, a trigger, and tokens of every kind."""

    def __init__(self, folder: Path, url: str) -> None:
        self.store = Store(url)
        self.trigger_id = self.store.create_single_trigger(
            "api target", "proc", datetime.now() + timedelta(days=1), "x.py", None, False, False
        )
        self.tokens: dict[str, str] = {}
        for name, scopes in {
            "all": list(ApiScope),
            "reader": [ApiScope.READ],
            "runner": [ApiScope.RUN],
            "queue-writer": [ApiScope.QUEUE_WRITE],
            "revoked": list(ApiScope),
        }.items():
            token, secret = self.store.create_api_token(name, scopes)
            self.tokens[name] = secret
            if name == "revoked":
                self.store.revoke_api_token(token.id)
        self.api = ApiServer(folder, url)
        self.fuzzer = self.api.client(self.tokens["all"])

    def snapshot(self) -> tuple[int, ...]:
        """Counts of everything the API can write."""
        return (
            len(self.store.get_run_requests(limit=10_000)),
            self.store.get_api_audit()[1],
            sum(sum(counts.values()) for counts in self.store.get_queue_count().values()),
            len(self.store.get_jobs()),
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from support.databases import migrated

    folder = tmp_path_factory.mktemp("api-security")
    running = Server(folder, migrated(f"sqlite:///{folder / 'api.db'}"))
    yield running
    running.fuzzer.close()
    running.api.stop()
    running.store.close()


@pytest.mark.parametrize(
    ("token", "method", "path", "code"),
    [
        (None, "GET", "/jobs", 401),
        ("oot_not-a-real-token", "GET", "/jobs", 401),
        ("not even prefixed", "GET", "/triggers", 401),
        ("revoked", "GET", "/jobs", 401),
        ("revoked", "POST", "/triggers/api target/runs", 401),
        ("reader", "POST", "/triggers/api target/runs", 403),
        ("reader", "POST", "/queues/q/elements", 403),
        ("runner", "GET", "/jobs", 403),
        ("runner", "POST", "/queues/q/elements/bulk", 403),
        ("queue-writer", "POST", "/triggers/api target/runs", 403),
        ("queue-writer", "GET", "/queues/q", 403),
    ],
)
def test_refused_tokens_write_nothing(
    server: Server, token: str | None, method: str, path: str, code: int
) -> None:
    before = server.snapshot()
    secret = server.tokens.get(token, token) if token else None
    body: dict[str, Any] = {"elements": [{"reference": "r"}]} if path.endswith("bulk") else {}
    with server.api.client(secret) as client:
        answer = client.request(method, path, json=body)
    assert answer.status_code == code, answer.text
    assert answer.json()["detail"]
    assert server.snapshot() == before


def test_expired_token_is_refused(server: Server) -> None:
    expiry = datetime.now() + timedelta(seconds=3)
    _token, secret = server.store.create_api_token(
        f"brief-{uuid.uuid4().hex[:6]}", ["READ"], expiry
    )
    with server.api.client(secret) as client:
        assert client.get("/jobs").status_code == 200
        time.sleep(max(0.0, (expiry - datetime.now()).total_seconds()) + 0.1)
        refused = client.get("/jobs")
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]


def test_scoped_tokens_do_their_part_and_are_audited(server: Server) -> None:
    with server.api.client(server.tokens["queue-writer"]) as client:
        added = client.post("/queues/api-q/elements", json={"reference": "A-1", "data": {"x": 1}})
    assert added.status_code == 201 and added.json()["created_by"] == "api:queue-writer"
    element_id = added.json()["id"]
    with server.api.client(server.tokens["reader"]) as client:
        assert client.get(f"/queues/api-q/elements/{element_id}").json()["data"] == '{"x":1}'
        assert client.get("/queues/other/elements/" + element_id).status_code == 404
        by_ref = client.get("/queues/api-q/elements", params={"reference": "A-1"}).json()
        assert [item["id"] for item in by_ref] == [element_id]
        assert client.get("/queues/api-q").json()["counts"]["NEW"] == 1
        triggers = client.get("/triggers").json()
        assert "process_path" not in triggers[0] and "process_args" not in triggers[0]
        assert client.get("/schedulers").status_code == 200
    entries, _total = server.store.get_api_audit()
    assert entries[0].token_name == "queue-writer" and element_id in (entries[0].detail or "")
    for secret in server.tokens.values():
        assert secret not in server.api.text()


def test_a_queue_writer_cannot_claim_to_be_anyone_else(server: Server) -> None:
    """Issue 23, F6: `created_by: "admin"` was stored as given. What an API caller adds
    is recorded as theirs (`api:<token name>`); the name they sent is kept apart, in
    the audit record, never as the element's creator."""
    with server.api.client(server.tokens["queue-writer"]) as client:
        one = client.post(
            "/queues/claims/elements", json={"reference": "C-1", "created_by": "admin"}
        )
        many = client.post(
            "/queues/claims/elements/bulk",
            json={"elements": [{"reference": "C-2"}, {"reference": "C-3"}], "created_by": "admin"},
        )
    assert one.status_code == 201 and one.json()["created_by"] == "api:queue-writer", one.text
    assert many.status_code == 201, many.text
    stored = server.store.get_queue_elements("claims")
    assert sorted(element.reference for element in stored) == ["C-1", "C-2", "C-3"]
    assert {element.created_by for element in stored} == {"api:queue-writer"}
    with server.api.client(server.tokens["reader"]) as client:
        listed = client.get("/queues/claims/elements").json()
    assert {item["created_by"] for item in listed} == {"api:queue-writer"}
    entries, _total = server.store.get_api_audit(limit=2)
    assert all(entry.token_name == "queue-writer" for entry in entries)
    assert all("caller's created_by 'admin'" in (entry.detail or "") for entry in entries)


def test_health_without_a_token_says_only_the_status(server: Server) -> None:
    answer = httpx.get(f"{server.api.base}/api/v1/health")
    assert answer.status_code == 200 and answer.json() == {"status": "degraded"}
    with server.api.client(server.tokens["reader"]) as client:
        body = client.get("/health").json()
    assert body["database"]["reachable"] is True
    assert body["database"]["revision"] == body["database"]["expected_revision"]
    with server.api.client("oot_not-a-real-token") as client:
        assert client.get("/health").status_code == 401


def test_the_api_answers_only_to_its_own_names(server: Server) -> None:
    """Issue 23 F5: a DNS-rebinding page (evil.example re-pointed at 127.0.0.1) gets 400,
    the page's rule: addresses and localhost pass, other names do not."""
    port = server.api.port
    for host in (f"evil.example:{port}", "evil.example", f"localhost.evil.example:{port}"):
        for path in ("/api/v1/health", "/api/v1/jobs", "/api/openapi.json"):
            answer = httpx.get(f"{server.api.base}{path}", headers={"Host": host})
            assert answer.status_code == 400, (host, path, answer.status_code)
            assert "Host" in answer.json()["detail"] and "status" not in answer.text
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        answer = httpx.get(f"{server.api.base}/api/v1/health", headers={"Host": host})
        assert answer.status_code == 200, host


def test_allow_host_adds_a_proxys_name(tmp_path: Path) -> None:
    from support.databases import migrated

    url = migrated(f"sqlite:///{tmp_path / 'named.db'}")
    api = ApiServer(tmp_path, url, "--allow-host", "api.example.org")
    try:
        named = httpx.get(f"{api.base}/api/v1/health", headers={"Host": "api.example.org"})
        other = httpx.get(f"{api.base}/api/v1/health", headers={"Host": "evil.example"})
    finally:
        api.stop()
    assert named.status_code == 200 and other.status_code == 400


def test_health_of_a_broken_database_holds_no_error_text_without_a_token(
    tmp_path: Path,
) -> None:
    from support.databases import migrated

    database = tmp_path / "broken.db"
    url = migrated(f"sqlite:///{database}")
    api = ApiServer(tmp_path, url)
    try:
        assert httpx.get(f"{api.base}/api/v1/health").json() == {"status": "degraded"}
        database.write_bytes(b"this is not a database, it says where it is: " * 200)
        answer = httpx.get(f"{api.base}/api/v1/health")
        assert answer.status_code == 503 and answer.json() == {"status": "unavailable"}
    finally:
        api.stop()


def test_openapi_schema_validates_and_docs_are_served(server: Server) -> None:
    spec = httpx.get(f"{server.api.base}/api/openapi.json").json()
    validate(spec)
    assert "/api/v1/triggers/{trigger}/runs" in spec["paths"]
    # Credentials (and constants) are not readable through the API at all.
    assert not [path for path in spec["paths"] if "credential" in path or "constant" in path]
    assert "password" not in json.dumps(spec).lower()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    docs = httpx.get(f"{server.api.base}/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_oversized_and_malformed_bodies_get_4xx(server: Server) -> None:
    before = server.snapshot()
    with server.api.client(server.tokens["all"]) as client:
        huge = client.post(
            "/queues/q/elements",
            content=b"{" + b" " * (5 * 1024 * 1024) + b"}",
            headers={"content-type": "application/json"},
        )
        assert huge.status_code == 413 and "too large" in huge.json()["detail"]
        for raw in (
            b"{",
            b"[" * 100_000,
            b'{"reference": "\\ud800"}',
            b'{"data": NaN}',
            b'{"reference": "nul\\u0000"}',
            b"\xff\xfe",
            b'{"data": 1e999}',
        ):
            answer = client.post(
                "/queues/q/elements", content=raw, headers={"content-type": "application/json"}
            )
            assert 400 <= answer.status_code < 500, (raw[:20], answer.text)

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while received
            yield b'{"data": "'
            for _ in range(80):
                yield b"x" * 65536
            yield b'"}'

        streamed = client.post(
            "/queues/q/elements", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413, streamed.text
        assert client.post(
            "/triggers/api target/runs", content=b"x", headers={"content-type": "text/plain"}
        ).status_code in (415, 422)
    assert server.snapshot() == before


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["reference", "data", "created_by", "elements", "process_args", "correlation_id", "x"]
)
BODIES = JSON | st.dictionaries(FIELDS, JSON, max_size=4)
TARGETS = st.sampled_from(
    [
        "/queues/fuzz/elements",
        "/queues/fuzz/elements/bulk",
        "/triggers/api target/runs",
        "/triggers/{missing}/runs",
        "/queues/" + "q" * 101 + "/elements",
    ]
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(target=TARGETS, body=BODIES)
def test_fuzzed_bodies_never_500_and_rejected_ones_change_nothing(
    server: Server, target: str, body: Any
) -> None:
    path = target.replace("{missing}", str(uuid.uuid4()))
    before = server.snapshot()
    server.store.set_trigger_status(server.trigger_id, TriggerStatus.IDLE)
    answer = server.fuzzer.post(path, json=body)
    assert answer.status_code < 500, (path, body, answer.text)
    if answer.status_code >= 400:
        assert isinstance(answer.json()["detail"], str) and answer.json()["detail"]
        assert server.snapshot() == before, (path, body, answer.text)
    else:  # accepted: the write is the one asked for, and it is audited
        assert server.snapshot() != before
        assert server.store.get_api_audit()[1] == before[1] + 1


def test_orchestrator_serves_the_api_with_dash_dash_api(tmp_path: Path, crypto_key: str) -> None:
    import os
    import subprocess
    import sys

    from support.api_server import free_port
    from support.databases import migrated

    url = migrated(f"sqlite:///{tmp_path / 'o.db'}")
    store = Store(url)
    _token, secret = store.create_api_token("o-api", ["READ"])
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "NICEGUI", "OpenOrchestrator"))  # NiceGUI: not a test
    }
    env["OPENORCH_HOME"] = str(tmp_path / "home")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "openorch",
            "o",
            "--api",
            "-d",
            "--port",
            str(port),
            "--conn",
            url,
            "--key",
            crypto_key,
        ],
        env=env,
        stdout=(tmp_path / "o.txt").open("wb"),
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "o.txt"
                ).read_text(errors="replace")
                time.sleep(0.2)
        assert health.status_code == 200 and health.json() == {"status": "degraded"}
        evil = httpx.get(f"{base}/api/v1/health", headers={"Host": "evil.example"})
        assert evil.status_code == 400  # the Orchestrator's Host rule, in the API too
        assert httpx.get(f"{base}/api/v1/jobs").status_code == 401
        jobs = httpx.get(f"{base}/api/v1/jobs", headers={"Authorization": f"Bearer {secret}"})
        assert jobs.status_code == 200 and jobs.json()["total"] == 0
        validate(httpx.get(f"{base}/api/openapi.json").json())
        # The Orchestrator still answers, with its login page: its token is not the API's.
        page = httpx.get(f"{base}/", headers={"Accept": "text/html"})
        assert page.status_code == 401 and "needs its token" in page.text
        assert (
            httpx.get(f"{base}/", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
        )
    finally:
        process.terminate()
        process.wait(20)
        store.close()


QUERY_VALUES = st.text(max_size=12) | st.integers(-(2**40), 2**40).map(str)
QUERIES = st.dictionaries(
    st.sampled_from(
        [
            "status",
            "outcome",
            "offset",
            "limit",
            "correlation_id",
            "reference",
            "process_name",
            "log_limit",
        ]
    ),
    QUERY_VALUES,
    max_size=4,
)
READ_PATHS = st.sampled_from(
    [
        "/jobs",
        "/runs",
        "/queues/fuzz/elements",
        "/jobs/{missing}",
        "/runs/{missing}",
        "/triggers/{missing}",
        "/queues/fuzz",
        "/jobs/not-a-uuid",
    ]
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=READ_PATHS, query=QUERIES)
def test_fuzzed_queries_get_an_answer_never_a_500(
    server: Server, path: str, query: dict[str, str]
) -> None:
    answer = server.fuzzer.get(path.replace("{missing}", str(uuid.uuid4())), params=query)
    assert answer.status_code in (200, 404, 422), (path, query, answer.text)
    if answer.status_code != 200:
        assert isinstance(answer.json()["detail"], str) and answer.json()["detail"]


@pytest.mark.parametrize(
    ("conn", "expected"),
    [
        ("postgresql+psycopg://robot:pw-s3cret@127.0.0.1:1/rpa", "Cannot start the API"),
        ("sqlite:///{folder}/empty.db", "no openorch tables"),
        ("not a url", "Cannot start the API"),
    ],
)
def test_api_refuses_a_bad_database_clearly(tmp_path: Path, conn: str, expected: str) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("OpenOrchestrator")}
    env["OPENORCH_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openorch",
            "api",
            "--conn",
            conn.format(folder=tmp_path),
            "--port",
            "1",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1 and expected in output, output
    assert "Traceback" not in output and "pw-s3cret" not in output

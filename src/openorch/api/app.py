"""Building the FastAPI application around a `Store`."""

import logging

from fastapi import FastAPI

from openorch import __version__
from openorch.api.errors import MAX_BODY_BYTES, BodyLimit, HostCheck, install_error_handlers
from openorch.api.routes import audit, metrics, queues, review, runs, system
from openorch.host_rule import HostRule
from openorch.scheduler.config import DEFAULT_HEARTBEAT_TIMEOUT
from openorch.sign_in_limiter import SignInLimiter
from openorch.store import Store

#: Every path of this version of the API starts here.
API_PREFIX = "/api/v1"

DESCRIPTION = """Start runs of openorch triggers, follow them to their outcome, add queue
elements and read the orchestrator's state.

Authenticate with `Authorization: Bearer <token>`; tokens are created (and revoked) in the
Orchestrator's API tab, with the scopes READ, RUN, QUEUE_WRITE, METRICS, REVIEW and
AUDIT. Every write is recorded there and in the audit trail (`GET /api/v1/audit`, AUDIT
scope). See docs/api.md for curl examples."""


def create_app(
    store: Store,
    *,
    mounted: bool = False,
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
    max_body_bytes: int = MAX_BODY_BYTES,
    hosts: HostRule | None = None,
    limiter: SignInLimiter | None = None,
) -> FastAPI:
    """The API over `store` (the caller keeps ownership of the store).

    `mounted=True` builds it to be mounted at `/api` inside another application (the
    Orchestrator's), so the public paths are the same either way: `/api/v1/...`,
    `/api/docs`, `/api/openapi.json`.

    `hosts` is the Host rule (default: a server on 127.0.0.1); `limiter` counts failed
    token checks (the Orchestrator shares its own with the API mounted in it).
    """
    base = "" if mounted else "/api"
    app = FastAPI(
        title="openorch API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=f"{base}/docs",
        redoc_url=None,
        openapi_url=f"{base}/openapi.json",
    )
    app.state.store = store
    app.state.prefix = API_PREFIX
    app.state.heartbeat_timeout = heartbeat_timeout
    app.state.limiter = limiter or SignInLimiter(logging.getLogger("openorch.api"))
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    app.add_middleware(HostCheck, rule=hosts or HostRule())  # outermost: checked first
    for router in (runs.router, queues.router, review.router, system.router, audit.router):
        app.include_router(router, prefix=f"{base}/v1")
    # Prometheus looks at /metrics: there on `openorch api`, and at /api/metrics both
    # there and inside the Orchestrator (`openorch o --api` mounts this app at /api).
    app.include_router(metrics.router, prefix=base)
    if base:
        app.include_router(metrics.router, include_in_schema=False)
    return app

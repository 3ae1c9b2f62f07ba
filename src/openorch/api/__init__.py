"""openorch's HTTP API: start runs, follow them, add queue elements, read state.

A small FastAPI application over the same data layer as the Orchestrator and the
Scheduler (`openorch.store`); it holds no SQL. `openorch api` serves it on its own;
`openorch o --api` serves it inside the Orchestrator's server. Callers authenticate with
bearer tokens created in the Orchestrator (see docs/api.md).
"""

from openorch.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]

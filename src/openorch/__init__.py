"""openorch: a self-hosted orchestrator for Python RPA, compatible with OpenOrchestrator.

RPA scripts import `OrchestratorConnection` from here; the Orchestrator, the Scheduler
and the upgrade command live in their own subpackages over the one data layer in
`openorch.store`.

`OrchestratorConnection` is loaded on first access (PEP 562), so `import openorch` and
commands such as `openorch --version` or `openorch key` do not pay for SQLAlchemy.
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from openorch.sdk import OrchestratorConnection

__all__ = ["OrchestratorConnection", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "OrchestratorConnection":
        from openorch.sdk import OrchestratorConnection

        return OrchestratorConnection
    raise AttributeError(f"module 'openorch' has no attribute {name!r}")

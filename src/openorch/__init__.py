"""openorch: a self-hosted orchestrator for Python RPA, compatible with OpenOrchestrator.

RPA scripts import `OrchestratorConnection` from here; the Orchestrator, the Scheduler
and the upgrade command live in their own subpackages over the one data layer in
`openorch.store`.
"""

__version__ = "0.1.0"

from openorch.sdk import OrchestratorConnection

__all__ = ["OrchestratorConnection", "__version__"]

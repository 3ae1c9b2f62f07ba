"""`from OpenOrchestrator.orchestrator_connection.connection import OrchestratorConnection`
keeps working: the class is openorch's, re-exported."""

from openorch.sdk.connection import OrchestratorConnection

__all__ = ["OrchestratorConnection"]

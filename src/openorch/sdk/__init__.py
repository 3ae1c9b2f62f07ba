"""The SDK RPA scripts use: `OrchestratorConnection`."""

from openorch.sdk.connection import OrchestratorConnection

__all__ = ["OrchestratorConnection"]

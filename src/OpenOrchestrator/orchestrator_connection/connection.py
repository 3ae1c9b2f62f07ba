"""`from OpenOrchestrator.orchestrator_connection.connection import OrchestratorConnection`
keeps working: the class is openorch's (see `openorch.sdk.compat`), re-exported with the
other names the original's module imported."""

import sys
from datetime import datetime

from openorch.database import (
    Constant,
    Credential,
    LogLevel,
    QueueElement,
    QueueStatus,
    TriggerStatus,
)
from openorch.sdk import crypto_util, db_util
from openorch.sdk.compat import OrchestratorConnection

__all__ = ["OrchestratorConnection"]

"""Queue elements (re-exported from openorch)."""

from openorch.database.base import Base
from openorch.database.queues import QueueElement, QueueStatus
from OpenOrchestrator.common import datetime_util

__all__ = ["QueueElement", "QueueStatus"]

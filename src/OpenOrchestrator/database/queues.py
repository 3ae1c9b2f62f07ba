"""Queue elements (re-exported from openorch)."""

from openorch.database.queues import QueueElement, QueueStatus

__all__ = ["QueueElement", "QueueStatus"]

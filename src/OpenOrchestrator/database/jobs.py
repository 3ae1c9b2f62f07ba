"""Jobs (re-exported from openorch)."""

from openorch.database.base import Base
from openorch.database.jobs import Job, JobStatus
from OpenOrchestrator.common import datetime_util

__all__ = ["Job", "JobStatus"]

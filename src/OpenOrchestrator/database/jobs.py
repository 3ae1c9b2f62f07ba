"""Jobs (re-exported from openorch)."""

from openorch.database.jobs import Job, JobStatus

__all__ = ["Job", "JobStatus"]

"""Table rows for jobs, shared by the Jobs tab, the Overview and the popups that show a job.

Kept apart from the tabs so a popup never imports a tab (docs/architecture.md).
"""

from typing import Any

from openorch.database import Job, JobOutcome
from openorch.masking import mask
from openorch.orchestrator.common import cut, fmt
from openorch.orchestrator.widgets import status_color


def duration_text(job: Job) -> str:
    """How long the run took (h:mm:ss), empty while it runs."""
    if job.end_time is None:
        return ""
    seconds = max(0, int((job.end_time - job.start_time).total_seconds()))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


#: How much of a failure reason a table row shows (the popup shows it all).
REASON_CHARS = 120


def job_row(job: Job, reason: str = "") -> dict[str, Any]:
    """One table row for a job; `reason` is why it failed, in one line
    (`Store.get_failure_reasons`), shown in the row so nobody has to click for it."""
    return {
        "id": str(job.id),
        "process_name": job.process_name,
        "scheduler_name": job.scheduler_name,
        "start_time": fmt(job.start_time),
        "end_time": fmt(job.end_time),
        "status": job.status.value,
        "status_color": status_color(job.status.value),
        "duration": duration_text(job),
        "outcome": job.outcome.value if job.outcome is not None else "",
        "outcome_color": status_color("Done" if job.outcome is JobOutcome.COMPLETED else "Failed"),
        "outcome_message": cut(job.outcome_message, 80),
        "correlation_id": job.correlation_id or "",
        # Masked again on the way out, as log rows are (older rows may hold a password).
        "reason": cut(mask(reason), REASON_CHARS),
        "reason_full": mask(reason),
    }

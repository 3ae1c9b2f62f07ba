"""The SDK RPA scripts use: `OrchestratorConnection`, `BusinessError` (a failure a
person must look at), and resumable pipelines (`Pipeline`, `Step`, `wait`,
`wait_for_review`) that run a list of named steps over a queue's elements.

The pipeline names are loaded on first access (PEP 562), so a process that only needs
`OrchestratorConnection` does not pay for them at start-up.
"""

from typing import TYPE_CHECKING, Any

from openorch.sdk.business_error import BusinessError
from openorch.sdk.connection import OrchestratorConnection

if TYPE_CHECKING:
    from openorch.sdk.pipeline import (
        Pipeline,
        PipelineSummary,
        ReviewRequest,
        Step,
        Wait,
        wait,
        wait_for_review,
    )

__all__ = [
    "BusinessError",
    "OrchestratorConnection",
    "Pipeline",
    "PipelineSummary",
    "ReviewRequest",
    "Step",
    "Wait",
    "wait",
    "wait_for_review",
]

_PIPELINE_NAMES = frozenset(
    ("Pipeline", "PipelineSummary", "ReviewRequest", "Step", "Wait", "wait", "wait_for_review")
)


def __getattr__(name: str) -> Any:
    if name in _PIPELINE_NAMES:
        from openorch.sdk import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'openorch.sdk' has no attribute {name!r}")

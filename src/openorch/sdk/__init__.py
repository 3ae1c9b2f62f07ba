"""The SDK RPA scripts use: `OrchestratorConnection`, and resumable pipelines
(`Pipeline`, `Step`, `wait`) that run a list of named steps over a queue's elements."""

from openorch.sdk.connection import OrchestratorConnection
from openorch.sdk.pipeline import Pipeline, PipelineSummary, Step, Wait, wait

__all__ = ["OrchestratorConnection", "Pipeline", "PipelineSummary", "Step", "Wait", "wait"]

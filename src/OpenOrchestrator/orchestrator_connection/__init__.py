"""The original's `OpenOrchestrator.orchestrator_connection` package."""

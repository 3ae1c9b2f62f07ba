"""The original's `OpenOrchestrator.common` package."""

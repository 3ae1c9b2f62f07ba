"""The original's `OpenOrchestrator.database.data_types` package."""

"""The original's `OpenOrchestrator.database` package: models, enums and `db_util`."""

"""Alerts: their configuration (rules, channels, recipients), the rules' queries
(findings) and the alert rows with their deliveries.

May import the shared core (store/*.py) and, read-only, `runs.state` (the database's
clock, `database_now`); nothing else. Only the facade (store/__init__.py through
store/features.py) loads this package: a robot process never does (docs/architecture.md,
"The rooms of the data layer"; tests/unit/test_architecture.py checks it).
"""

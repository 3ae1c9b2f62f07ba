"""Queues: elements and their claim, the attempt lifecycle, admin and bulk actions,
settings, the status table (status.py), counts, search, history, review and pipelines.

Imports only the shared core (store/*.py): a queue knows nothing of triggers, jobs or
alerts. The other way round, `runs` may import `queues.lifecycle` (the end of a job
releases its elements) and `ops` may read any of it (docs/architecture.md, "The rooms
of the data layer"; tests/unit/test_architecture.py checks it).
"""

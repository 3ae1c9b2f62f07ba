"""Runs: triggers and their calendars, jobs and their outcomes, logs, Schedulers and run
requests; the one state table of triggers and jobs (`state.py`).

May import the shared core (store/*.py) and `queues.lifecycle` (a job that ends releases
the queue elements it held); never the other way round (docs/architecture.md, "The
rooms of the data layer"; tests/unit/test_architecture.py checks it).
"""

"""Operations: what an admin reads and does about the installation as a whole: the
Overview, table sizes, metrics, retention (the policy and the pruning), and copying the
database to another.

The one room that may import other rooms (queues, runs): its figures span them. It
counts alerts from their tables, not through store/alerts/.
Only the facade (store/__init__.py through store/features.py) and the programs load it,
never another room (docs/architecture.md, "The rooms of the data layer";
tests/unit/test_architecture.py checks it).
"""

"""Helpers the search and count tests share: the same search without the index (the
plain LIKE it must agree with), what a search finds, what waits for the indexer, and a
migration module's frozen SQL (the old revisions' objects a test puts back)."""

import importlib.util
import time
import uuid
from types import ModuleType

from openorch import migrate
from openorch.store import Store
from openorch.store.queues import search


def unindexed(store: Store) -> Store:
    """A Store on the same database whose searches never use the index (plain LIKE)."""
    plain = Store(store.engine)
    plain._search_checked = (time.monotonic() + 3600, False)
    return plain


def found(store: Store, queue: str, term: str) -> set[uuid.UUID]:
    """The ids a search for `term` in `queue` finds (all pages), its total checked."""
    rows, total = store.get_queue_elements(queue, search_term=term, limit=None, include_count=True)
    assert total == len(rows)
    return {row.id for row in rows}


def waiting(store: Store) -> int:
    """Elements waiting for the search indexer (deleted ones left out)."""
    with store.engine.connect() as connection:
        return search.backlog(connection)


def migration(revision: str) -> ModuleType:
    """The migration module of `revision` (alembic/versions), loaded for its constants."""
    path = next((migrate.script_location() / "versions").glob(f"{revision}_*.py"))
    spec = importlib.util.spec_from_file_location(f"migration_{revision}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

"""The fixtures themselves: both backends come up at the newest revision."""

from openorch.store import HEAD_REVISION, Store


def test_store_is_at_head(store: Store) -> None:
    assert store.current_revision() == HEAD_REVISION
    assert store.check_database_revision()

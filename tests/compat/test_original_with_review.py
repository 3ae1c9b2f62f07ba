"""Mixed fleets (issue 27): the original 3.0.0 on a database with elements in openorch's
review inbox reads them as FAILED, never claims them, and keeps working; once a person
decides "retry", the original claims the element like any NEW one."""

from openorch.database import QueueStatus
from openorch.store import Store
from support.original import OriginalVenv, run_original


def test_original_sees_review_items_as_failed_and_keeps_working(
    original: OriginalVenv, sqlite_db_url: str, crypto_key: str
) -> None:
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    in_review = store.create_queue_element("invoices", "in-review", "{}")
    assert store.get_next_queue_element("invoices") is not None
    store.set_queue_element_status(in_review.id, QueueStatus.FAILED, "Unknown", kind="business")
    store.create_queue_element("invoices", "plain", "{}")
    [entry] = store.list_review_items()

    result = run_original(original, "read_review_queue.py", sqlite_db_url, "invoices")
    assert result == {
        "statuses": {"in-review": "FAILED", "plain": "NEW"},
        "claimed": "plain",
    }
    assert store.get_queue_element(in_review.id).status is QueueStatus.FAILED
    assert [one.item.id for one in store.list_review_items()] == [entry.item.id]

    store.decide_review_item(entry.item.id, "retry", "customer created", "admin")
    again = run_original(original, "read_review_queue.py", sqlite_db_url, "invoices")
    assert again == {"statuses": {"in-review": "NEW", "plain": "DONE"}, "claimed": "in-review"}
    assert store.get_queue_element(in_review.id).status is QueueStatus.DONE
    store.close()

"""A scrape on a database that lacks a newer table (an openorch newer than its database,
or a lock timeout on the last statements) still gives the figures it could read, and
says in the log what it left out and what to do; it never fails silently."""

import logging

import pytest
from sqlalchemy import text

from openorch.store import Store


def test_a_missing_table_leaves_out_its_figures_and_says_so(
    sqlite_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(sqlite_db_url)
    store.bulk_create_queue_elements("q", ["a", "b"], [None, None])
    with store.engine.begin() as connection:
        connection.execute(text('DROP TABLE "Queue_Reviews"'))
    with caplog.at_level(logging.WARNING, logger="openorch.store.ops.metrics"):
        figures = store.get_metric_figures(120.0)
    store.close()
    assert figures.queue_elements[("q", "NEW")] == 2  # read before the missing table
    assert figures.review_open == {}
    assert figures.prune is None
    warnings = [r.getMessage() for r in caplog.records if r.name == "openorch.store.ops.metrics"]
    assert len(warnings) == 1, warnings
    assert "Queue_Reviews" in warnings[0] and "openorch upgrade" in warnings[0]

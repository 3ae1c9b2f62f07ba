"""Helpers the fixtures and tests share: what to do when a part is missing, migrating
a test database to the newest revision, and writing it with plain SQL."""

import os
import uuid

import pytest
import sqlalchemy as sa

from openorch import migrate
from openorch.store import Store, build_engine

#: In CI (`OPENORCH_REQUIRE_ALL=1`) a missing PostgreSQL, browser or display fails a test
#: instead of skipping it.
REQUIRE_ALL = os.environ.get("OPENORCH_REQUIRE_ALL") == "1"


def missing(what: str) -> None:
    """Skip locally, fail in CI, when something a test needs is not on this machine."""
    if REQUIRE_ALL:
        pytest.fail(f"{what} is required (OPENORCH_REQUIRE_ALL=1) but not available")
    pytest.skip(f"{what} is not available")


def migrated(url: str) -> str:
    """Bring the database at `url` to openorch's newest revision; returns `url`."""
    engine = build_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return url


def raw_sql(store: Store, sql: str, **values: object) -> None:
    """Write with plain SQL in one transaction, as the original or an admin would."""
    with store.engine.begin() as connection:
        connection.execute(sa.text(sql), values)


def stored_id(store: Store, element_id: uuid.UUID) -> object:
    """An element id as the backend stores it, for raw SQL (SQLite: 32 hex characters)."""
    return element_id.hex if store.dialect == "sqlite" else element_id

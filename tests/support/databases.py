"""Helpers the fixtures and tests share: what to do when a part is missing, and migrating
a test database to the newest revision."""

import os

import pytest

from openorch import migrate
from openorch.store import build_engine

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

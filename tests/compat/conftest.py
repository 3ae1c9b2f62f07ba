"""Fixtures for the tests against the real OpenOrchestrator 3.0.0 (see support/original.py)."""

import pytest

from support.original import OriginalVenv, original_venv


@pytest.fixture(scope="session")
def original() -> OriginalVenv:
    """The side virtualenv with OpenOrchestrator 3.0.0 from the package registry (cached
    between runs; built on the first)."""
    return original_venv()

"""Exits 0 at once, without importing openorch (cheap, for tests that start many)."""

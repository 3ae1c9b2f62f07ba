"""`openorch search-index` as an admin runs it: SQLite's opt-in search index made for the
elements already there, PostgreSQL's backlog indexed (or every document made again with
`--rebuild`), and a clear refusal when there is no database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from openorch.store import Store
from openorch.store.queues import search

SRC = Path(__file__).resolve().parents[2] / "src"


def _openorch(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENORCH")}
    env["PYTHONPATH"] = f"{SRC}{os.pathsep}{env.get('PYTHONPATH', '')}"
    env["OPENORCH_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "openorch", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _store_with_a_needle(url: str, crypto_key: str, others: int) -> Store:
    """`others` plain elements and one whose data holds "Haystack Ltd", in queue "q"."""
    store = Store(url, crypto_key=crypto_key)
    store.bulk_create_queue_elements("q", [f"r{i}" for i in range(others)], ["{}"] * others)
    store.create_queue_element("q", "needle", '{"customer": "Haystack Ltd"}')
    return store


def test_the_index_is_made_for_the_elements_there_and_search_uses_it(
    sqlite_db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    store = _store_with_a_needle(sqlite_db_url, crypto_key, 50)
    assert not store._search_indexed()  # opt-in on SQLite
    store.close()

    done = _openorch("search-index", "--conn", sqlite_db_url, home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert "Search index ready" in done.stdout

    store = Store(sqlite_db_url, crypto_key=crypto_key)
    assert store._search_indexed()
    found, total = store.get_queue_elements("q", search_term="ystack", include_count=True)
    assert total == 1 and found[0].reference == "needle"
    # Written afterwards: noted, and indexed by the command when no Scheduler runs.
    store.bulk_create_queue_elements("q", ["later1", "later2"], ["more hay", "more hay"])
    store.close()
    again = _openorch("search-index", "--conn", sqlite_db_url, home=tmp_path / "home")
    assert again.returncode == 0, again.stderr
    assert "Search index up to date: 2 elements indexed" in again.stdout
    rebuilt = _openorch("search-index", "--rebuild", "--conn", sqlite_db_url, home=tmp_path / "h")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Search index ready" in rebuilt.stdout
    store = Store(sqlite_db_url, crypto_key=crypto_key)
    assert len(store.get_queue_elements("q", search_term="ore ha")) == 2
    with store.engine.connect() as connection:
        assert search.backlog(connection) == 0
    store.close()


def test_no_database_is_refused_and_nothing_is_made(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = _openorch("search-index", home=home)
    assert done.returncode == 2
    assert "there is no database" in done.stderr
    assert not (home / "openorch.db").exists()


@pytest.mark.postgres
def test_on_postgresql_it_indexes_what_waits_or_rebuilds_everything(
    pg_db_url: str, crypto_key: str, tmp_path: Path
) -> None:
    store = _store_with_a_needle(pg_db_url, crypto_key, 30)

    def waiting() -> int:
        with store.engine.connect() as connection:
            return search.backlog(connection)

    assert waiting() == 31  # no Scheduler has indexed them
    done = _openorch("search-index", "--conn", pg_db_url, home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert "writers go on" in done.stdout
    assert "Search index up to date: 31 elements indexed" in done.stdout
    assert waiting() == 0
    with store.engine.connect() as connection:
        made = connection.exec_driver_sql('SELECT count(*) FROM "Queue_Search"').scalar()
    assert made == 31

    rebuilt = _openorch("search-index", "--rebuild", "--conn", pg_db_url, home=tmp_path / "home")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Search index ready" in rebuilt.stdout
    found, total = store.get_queue_elements("q", search_term="ystack", include_count=True)
    assert total == 1 and found[0].reference == "needle"
    store.close()

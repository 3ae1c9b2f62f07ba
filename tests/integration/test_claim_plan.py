"""A queue's oldest NEW element is one index seek on PostgreSQL, whatever the statistics.

The trap (found by bench/vacuum_hold_bench.py: a fleet's claim rate fell from 1,010/s to
58/s within two minutes and stayed there): statistics gathered while a queue was all
NEW, then work done from its oldest end before the next ANALYZE. Asked plainly for
`queue_name = q AND status = 'NEW' ORDER BY created_date LIMIT 1`, the planner took the
single-column `created_date` index and filtered, walking every element already done on
each claim. Here the same state is made on purpose (ANALYZE while all NEW, or none at
all, then the oldest elements DONE and vacuumed without ANALYZE), and each real call that reads the
oldest NEW element (the claim and the peek, the Overview, the metrics, the alert rules, the Queues
tab's summary) is captured and EXPLAINed with its own parameters, both as a custom plan
and as the generic plan of a prepared statement (psycopg prepares a statement on the
server from its fifth run on a connection; the generic plan knows no values, and took
the `created_date` index even with fresh statistics): it must touch a handful of
pages, not one per element done.
"""

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from psycopg import sql

from openorch.store import Store
from support.captured import captured_statements

pytestmark = pytest.mark.postgres

#: Elements per queue; the oldest DONE of the work queue, unseen by the statistics.
PER_QUEUE = 20_000
DONE = 8_000
#: Pages one seek may touch (index root to leaf, the heap row; a few more in passing).
MOST_PAGES = 40


@pytest.fixture(params=["stale statistics", "no statistics"])
def stale_store(pg_db_url: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    """The oldest DONE, unseen by the statistics: gathered while every element was NEW,
    or never (a table just loaded, before autovacuum's first ANALYZE)."""
    store = Store(pg_db_url)
    raw = store.engine.raw_connection()
    raw.driver_connection.autocommit = True
    # The states are the test's own: an autovacuum ANALYZE in the middle would make
    # another state than the one named. A loaded CI machine once ran one between the two
    # bulk creates: statistics that know only the work queue, all NEW. In that state the
    # claim still seeks, but the read-only probes (Overview, metrics, alert rules,
    # Queues tab) read the whole queue through the queue_name index and sort, until the
    # next ANALYZE (docs/database.md, "How a claim finds the oldest NEW element").
    raw.driver_connection.execute('ALTER TABLE "Queues" SET (autovacuum_enabled = false)')
    for queue in ("work", "other"):
        store.bulk_create_queue_elements(
            queue, [f"{queue}-{n}" for n in range(PER_QUEUE)], [None] * PER_QUEUE
        )
    if request.param == "stale statistics":
        raw.driver_connection.execute("ANALYZE")  # every element NEW, as after a bulk load
    raw.driver_connection.execute(
        """UPDATE "Queues" SET status = 'DONE' WHERE id IN (SELECT id FROM "Queues"
        WHERE queue_name = 'work' ORDER BY created_date LIMIT %s)""",
        (DONE,),
    )
    # Vacuumed, not analyzed: the dead versions are gone, the statistics are stale.
    raw.driver_connection.execute('VACUUM "Queues"')
    raw.close()
    yield store
    store.close()


def _reads_oldest_new(statement: str) -> bool:
    return '"Queues"' in statement and "created_date" in statement


def _pages(plan: dict[str, Any]) -> int:
    return int(plan.get("Shared Hit Blocks", 0)) + int(plan.get("Shared Read Blocks", 0))


READS: dict[str, Callable[[Store], object]] = {
    "claim": lambda s: s.get_next_queue_element("work"),
    # The second claim starts at the first's cursor (ClaimCursors).
    "claim from the cursor": lambda s: [s.get_next_queue_element("work") for _ in range(2)],
    "peek": lambda s: s.get_next_queue_element("work", set_status=False),
    "Overview": lambda s: s.get_overview(),
    "metrics": lambda s: s.get_metric_figures(120.0),
    "alert rules": lambda s: s.get_oldest_new_elements(["work", "other"]),
    "Queues tab summary": lambda s: s.get_queue_overview(),
}


def _as_prepared(statement: str, parameters: dict[str, Any]) -> tuple[str, list[Any]]:
    """The captured statement (`%(name)s` placeholders) as PREPARE's `$n` and the values
    in that order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"%\((\w+)\)s", number, statement), [parameters[name] for name in names]


def _plan(cursor: Any, statement: str, parameters: dict[str, Any], generic: bool) -> Any:
    """EXPLAIN ANALYZE's plan: as the statement was run (a custom plan, made for these
    values), or as a prepared statement's generic plan, which psycopg's server-side
    prepared statements (from the fifth run on one connection) may use."""
    explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)"
    if not generic:
        cursor.execute(f"{explain} {statement}", parameters)
    else:
        prepared, values = _as_prepared(statement, parameters)
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE oldest_new AS {prepared}")
        # EXECUTE's arguments are expressions: as literals, typed by PREPARE's context.
        arguments = sql.SQL(", ").join(sql.Literal(value) for value in values)
        cursor.execute(sql.SQL(f"{explain} EXECUTE oldest_new({{}})").format(arguments))
    found = cursor.fetchone()[0]
    if generic:
        cursor.execute("DEALLOCATE oldest_new")
    return (found if isinstance(found, list) else json.loads(found))[0]["Plan"]


@pytest.mark.parametrize("generic", [False, True], ids=["custom plan", "generic plan"])
@pytest.mark.parametrize("name", list(READS))
def test_the_oldest_new_element_is_one_seek_with_stale_statistics(
    stale_store: Store, name: str, generic: bool
) -> None:
    statements = captured_statements(
        stale_store, lambda: READS[name](stale_store), _reads_oldest_new
    )
    assert statements, f"{name}: no statement read the oldest NEW element"
    raw = stale_store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            plan = _plan(cursor, statement, parameters, generic)
            raw.rollback()  # EXPLAIN ANALYZE of the claim ran the UPDATE
            assert _pages(plan) <= MOST_PAGES, (
                f"{name}: {_pages(plan)} pages for\n{statement}\n"
                f"{json.dumps(plan, indent=1)[:3000]}"
            )
    finally:
        raw.close()


#: Elements claimed and done while the transaction is held open.
HELD_CLAIMS = 500


def _claim_entries(store: Store, generic: bool) -> list[int]:
    """Index entries each statement of one claim read, dead ones included (the
    connection's own statistics, `idx_tup_read` before it is reported), in a custom
    or a prepared statement's generic plan. Pages would not show the walk: consecutive
    entries share a few heap pages, each counted once."""
    statements = captured_statements(
        store, lambda: store.get_next_queue_element("work"), _reads_oldest_new
    )
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if generic:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
        read = (
            "SELECT SUM(pg_stat_get_xact_tuples_returned(indexrelid)) FROM pg_index "
            "WHERE indrelid = '\"Queues\"'::regclass"
        )
        entries = []
        for statement, parameters in statements:
            # The counter holds the connection's statistics not yet reported (those of
            # earlier transactions too, up to a second's): the difference is the claim's.
            before = int(cursor.execute(read).fetchone()[0])
            cursor.execute(statement, parameters, prepare=generic)
            entries.append(int(cursor.execute(read).fetchone()[0]) - before)
            raw.rollback()
        return entries
    finally:
        raw.close()


@pytest.mark.parametrize("generic", [False, True], ids=["custom plan", "generic plan"])
@pytest.mark.parametrize("statistics", ["stale statistics", "no statistics"])
def test_a_claim_while_a_long_transaction_is_open_walks_only_since_its_last_claim(
    pg_db_url: str, statistics: str, generic: bool
) -> None:
    """An open transaction keeps every claimed element's old (NEW) index entry alive
    and unkillable; a claim from the queue's oldest end reads each of them and checks it
    in the heap. A claim from this Store's cursor (ClaimCursors) starts after its last
    claim: a few entries, whatever the statistics and plan."""
    store = Store(pg_db_url)
    for queue in ("work", "other"):
        store.bulk_create_queue_elements(queue, [f"{queue}{n}" for n in range(1000)], [None] * 1000)
    holder = store.engine.raw_connection()
    try:
        if statistics == "stale statistics":
            holder.cursor().execute("ANALYZE")  # every element NEW
            holder.commit()
        holder.cursor().execute("SELECT txid_current()")  # an open transaction from now on
        store._claim_cursors.RESCAN_SECONDS = 3600.0  # no rescan by the clock: a slow
        # machine must not turn the measured claim into one from the oldest end
        for _ in range(HELD_CLAIMS):
            element = store.get_next_queue_element("work")
            assert element is not None
            store.set_queue_element_status(element.id, "DONE")
        (from_cursor,) = _claim_entries(store, generic)
        store._claim_cursors.RESCAN_SECONDS = 0.0  # every claim from the oldest end
        (whole,) = _claim_entries(store, generic)
    finally:
        holder.rollback()
        holder.close()
        store.close()
    assert whole > HELD_CLAIMS, f"the whole-queue claim read only {whole} index entries"
    assert from_cursor <= 5, f"the cursor claim read {from_cursor} index entries"

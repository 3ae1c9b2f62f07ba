"""Fill a database with realistic volumes fast, in SQL (generate_series / recursive CTE).

Used by the benchmarks and the EXPLAIN test: 1,000,000 logs over 50 process names and
three levels, a 1,000,000-element queue mix, and a 100,000-element queue.
"""

from sqlalchemy import Engine, text

PROCESS_NAMES = 50


def _uuid_sql(dialect: str) -> str:
    return "gen_random_uuid()" if dialect == "postgresql" else "lower(hex(randomblob(16)))"


def _series(dialect: str, count: int) -> str:
    """A FROM clause yielding n = 0..count-1."""
    if dialect == "postgresql":
        return f"generate_series(0, {count - 1}) AS s(n)"
    return (
        f"(WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n < {count - 1})"
        " SELECT n FROM c) AS s"
    )


def _time(dialect: str, seconds_expr: str) -> str:
    if dialect == "postgresql":
        return f"(TIMESTAMP '2025-01-01 00:00:00' + ({seconds_expr}) * INTERVAL '1 second')"
    return f"datetime('2025-01-01 00:00:00', '+' || ({seconds_expr}) || ' seconds')"


def populate_logs(engine: Engine, count: int) -> None:
    """`count` logs, one second apart, over PROCESS_NAMES processes and three levels."""
    dialect = engine.dialect.name
    levels = (
        "CASE n % 10 WHEN 0 THEN 'ERROR' WHEN 1 THEN 'TRACE' WHEN 2 THEN 'TRACE' ELSE 'INFO' END"
    )
    sql = (
        'INSERT INTO "Logs" (id, log_time, log_level, process_name, log_message, job_id) '
        f"SELECT {_uuid_sql(dialect)}, {_time(dialect, 'n')}, {levels}, "
        f"'process_' || (n % {PROCESS_NAMES}), 'Benchmark log line number ' || n, NULL "
        f"FROM {_series(dialect, count)}"
    )
    with engine.begin() as connection:
        connection.execute(text(sql))
    _analyze(engine)


def populate_queue(engine: Engine, queue_name: str, count: int, *, mixed: bool = True) -> None:
    """`count` elements in `queue_name`; with `mixed` most are DONE, some NEW/FAILED."""
    dialect = engine.dialect.name
    status = (
        "CASE WHEN n % 100 = 0 THEN 'NEW' WHEN n % 100 = 1 THEN 'FAILED' "
        "WHEN n % 100 = 2 THEN 'IN_PROGRESS' ELSE 'DONE' END"
        if mixed
        else "'NEW'"
    )
    sql = (
        'INSERT INTO "Queues" (id, queue_name, status, data, reference, created_date, created_by) '
        f"SELECT {_uuid_sql(dialect)}, '{queue_name}', {status}, "
        "'{\"invoice\": ' || n || ', \"amount\": 100}', 'REF-' || n, "
        f"{_time(dialect, 'n')}, 'bench' FROM {_series(dialect, count)}"
    )
    with engine.begin() as connection:
        connection.execute(text(sql))
    _analyze(engine)


def _analyze(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))

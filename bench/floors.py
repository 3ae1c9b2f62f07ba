"""The floor for each benchmark: the same work done with the best hand-written SQL on
the raw driver connection, so the ratio to openorch's figure holds on a noisy machine."""

from datetime import datetime

from sqlalchemy import Engine

from openorch.database.ids import ordered_uuid_bytes

SQL = {
    "logs_newest": 'SELECT * FROM "Logs" ORDER BY log_time DESC LIMIT 100',
    "logs_by_process": (
        "SELECT * FROM \"Logs\" WHERE process_name = 'process_7' ORDER BY log_time DESC LIMIT 100"
    ),
    "logs_by_level": (
        "SELECT * FROM \"Logs\" WHERE log_level = 'ERROR' ORDER BY log_time DESC LIMIT 100"
    ),
    "distinct_process_names": (
        'WITH RECURSIVE n(v) AS (SELECT MIN(process_name) FROM "Logs" UNION ALL '
        'SELECT (SELECT MIN(process_name) FROM "Logs" WHERE process_name > n.v) FROM n '
        "WHERE n.v IS NOT NULL) SELECT v FROM n WHERE v IS NOT NULL"
    ),
    "queue_count": 'SELECT queue_name, status, count(*) FROM "Queues" GROUP BY queue_name, status',
    "queue_page": (
        "SELECT * FROM \"Queues\" WHERE queue_name = 'page' ORDER BY created_date LIMIT 100"
    ),
    "queue_page_count": "SELECT count(*) FROM \"Queues\" WHERE queue_name = 'page'",
}


def run_sql(engine: Engine, *statements: str) -> None:
    """Run read statements on a raw DBAPI connection and fetch every row."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        for statement in statements:
            cursor.execute(statement)
            cursor.fetchall()
        cursor.close()
        connection.commit()
    finally:
        connection.close()


def claim_one(engine: Engine, queue_name: str) -> object:
    """Claim the oldest NEW element in one statement on the raw connection."""
    now = datetime.now()
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if engine.dialect.name == "postgresql":
            cursor.execute(
                "UPDATE \"Queues\" SET status = 'IN_PROGRESS', start_date = %s WHERE id = "
                "(SELECT id FROM \"Queues\" WHERE queue_name = %s AND status = 'NEW' "
                "ORDER BY created_date LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *",
                (now, queue_name),
            )
        else:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(
                "UPDATE \"Queues\" SET status = 'IN_PROGRESS', start_date = ? WHERE id = "
                "(SELECT id FROM \"Queues\" WHERE queue_name = ? AND status = 'NEW' "
                "ORDER BY created_date LIMIT 1) RETURNING *",
                (now.strftime("%Y-%m-%d %H:%M:%S.%f"), queue_name),
            )
        row = cursor.fetchone()
        cursor.close()
        connection.commit()
        return row
    finally:
        connection.close()


def bulk_insert(engine: Engine, queue_name: str, count: int) -> None:
    """Insert `count` NEW elements the fastest way the raw driver allows."""
    ids = ordered_uuid_bytes(count).hex()
    connection = engine.raw_connection()
    try:
        driver = connection.driver_connection
        columns = "id, queue_name, status, data, reference, created_date, created_by"
        if engine.dialect.name == "postgresql":
            stamp = datetime.now().isoformat(" ")
            with (
                driver.cursor() as cursor,
                cursor.copy(f'COPY "Queues" ({columns}) FROM STDIN') as copy,
            ):
                for index in range(count):
                    copy.write_row(
                        (
                            ids[32 * index : 32 * index + 32],
                            queue_name,
                            "NEW",
                            "{}",
                            f"r{index}",
                            stamp,
                            None,
                        )
                    )
            driver.commit()
        else:
            stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")
            rows = [
                (
                    ids[32 * index : 32 * index + 32],
                    queue_name,
                    "NEW",
                    "{}",
                    f"r{index}",
                    stamp,
                    None,
                )
                for index in range(count)
            ]
            cursor = driver.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(
                f'INSERT INTO "Queues" ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)', rows
            )
            cursor.execute("COMMIT")
    finally:
        connection.close()


def raw_worker(url: str, queue_name: str) -> int:
    """Drain a queue with hand-written SQL (claim + mark DONE); returns the count."""
    from openorch.store import build_engine

    engine = build_engine(url)
    done = 0
    marker = "%s" if engine.dialect.name == "postgresql" else "?"
    while (row := claim_one(engine, queue_name)) is not None:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            if engine.dialect.name == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
            element_id = row[0]
            cursor.execute(
                f"UPDATE \"Queues\" SET status = 'DONE', end_date = {marker} WHERE id = {marker}",
                (
                    datetime.now()
                    if engine.dialect.name == "postgresql"
                    else datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f"),
                    element_id,
                ),
            )
            connection.commit()
        finally:
            connection.close()
        done += 1
    engine.dispose()
    return done

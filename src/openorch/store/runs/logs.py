"""Log operations."""

import uuid
from datetime import datetime
from typing import Literal, overload

from sqlalchemy import Executable, insert, literal_column, select, text
from sqlalchemy.orm import Session

from openorch.database import Log, LogLevel
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.masking import mask
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.paging import page_statement, read_page

#: Longest log message stored; longer ones keep their head and tail.
MAX_LOG_LENGTH = 8000

_LOG_ORDER_COLUMNS = {
    "log_time": Log.log_time,
    "log_level": Log.log_level,
    "process_name": Log.process_name,
    "log_message": Log.log_message,
    "job_id": Log.job_id,
    "id": Log.id,
    # The original's keys (its Logs tab sends its column titles, normalised by order_key).
    "level": Log.log_level,
    "message": Log.log_message,
    "short_job_id": Log.job_id,
    "full_job_id": Log.job_id,
}


_LOG_COLUMNS = ("id", "log_time", "log_level", "process_name", "log_message", "job_id")
_LOG_INSERT = insert(table_of(Log))


def truncate_message(message: str, max_length: int = MAX_LOG_LENGTH) -> str:
    """Cut a message over `max_length` characters (8000) to its first and last halves,
    as the original's `truncate_message` does."""
    if len(message) <= max_length:
        return message
    head = -(-max_length // 2)
    tail = max_length // 2
    return message[:head] + (message[-tail:] if tail else "")


def clean_message(message: object) -> str:
    """Make any message storable and showable: a log line must never be lost to a bad
    character, and a secret in it is masked."""
    text_value = message if isinstance(message, str) else str(message)
    text_value = text_value.replace("\x00", "\ufffd")
    text_value = text_value.encode("utf-8", errors="replace").decode("utf-8")
    # Passwords and tokens in URLs and connection strings never reach the Logs table.
    return truncate_message(mask(text_value))


class LogStore(StoreCore):
    """Writing and reading logs."""

    def create_log(
        self,
        process_name: str,
        level: LogLevel | str,
        job_id: uuid.UUID | str | None,
        message: object,
    ) -> Log:
        """Write one log row now. The message is cut to 8000 characters (head + tail);
        NUL and unencodable characters are replaced, never refused.

        Raises:
            ValueError: bad process name, level or job id.
        """
        log = Log(
            id=new_id(),
            log_time=datetime.now(),
            process_name=v.check_text(Log, "process_name", process_name),
            log_level=v.check_enum(LogLevel, "level", level),
            job_id=v.check_optional_uuid("job_id", job_id),
            log_message=clean_message(message),
        )

        row = {column: getattr(log, column) for column in _LOG_COLUMNS}
        self._write_single(lambda connection: connection.execute(_LOG_INSERT, row))
        return log

    @overload
    def get_logs(
        self,
        offset: int = ...,
        limit: int | None = ...,
        from_date: datetime | None = ...,
        to_date: datetime | None = ...,
        process_name: str | None = ...,
        log_level: LogLevel | str | None = ...,
        job_id: uuid.UUID | str | None = ...,
        order_by: str | None = ...,
        order_desc: bool = ...,
        include_count: Literal[False] = ...,
    ) -> tuple[Log, ...]: ...

    @overload
    def get_logs(
        self,
        offset: int = ...,
        limit: int | None = ...,
        from_date: datetime | None = ...,
        to_date: datetime | None = ...,
        process_name: str | None = ...,
        log_level: LogLevel | str | None = ...,
        job_id: uuid.UUID | str | None = ...,
        order_by: str | None = ...,
        order_desc: bool = ...,
        *,
        include_count: Literal[True],
    ) -> tuple[tuple[Log, ...], int]: ...

    def get_logs(
        self,
        offset: int = 0,
        limit: int | None = 100,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        process_name: str | None = None,
        log_level: LogLevel | str | None = None,
        job_id: uuid.UUID | str | None = None,
        order_by: str | None = None,
        order_desc: bool = True,
        include_count: bool = False,
    ) -> tuple[Log, ...] | tuple[tuple[Log, ...], int]:
        """A page of logs, newest first unless `order_by`/`order_desc` say otherwise.

        With `include_count` returns `(logs, total matching)`.

        Raises:
            ValueError: bad paging values, level, job id or order column.
        """
        filters = []
        if from_date is not None:
            filters.append(Log.log_time >= v.check_datetime("from_date", from_date))
        if to_date is not None:
            filters.append(Log.log_time <= v.check_datetime("to_date", to_date))
        if process_name:
            filters.append(Log.process_name == process_name)
        if log_level:
            filters.append(Log.log_level == v.check_enum(LogLevel, "log_level", log_level))
        if job_id:
            filters.append(Log.job_id == v.check_uuid("job_id", job_id))
        page = page_statement(
            Log,
            filters,
            columns=_LOG_ORDER_COLUMNS,
            default="log_time",
            order_by=order_by,
            order_desc=order_desc,
            offset=offset,
            limit=limit,
        )

        def work(session: Session) -> tuple[Log, ...] | tuple[tuple[Log, ...], int]:
            return read_page(session, page, Log, filters, include_count)

        return self._read(work)

    def get_unique_log_process_names(self) -> tuple[str, ...]:
        """Every distinct process name in the logs, sorted.

        On SQLite and PostgreSQL this is a recursive skip scan over the process-name
        index: one index probe per name instead of reading every log row.
        """
        statement: Executable
        if self.dialect in ("sqlite", "postgresql"):
            statement = text(
                "WITH RECURSIVE names(name) AS ("
                ' SELECT MIN(process_name) FROM "Logs"'
                " UNION ALL"
                ' SELECT (SELECT MIN(process_name) FROM "Logs" WHERE process_name > names.name)'
                " FROM names WHERE names.name IS NOT NULL"
                ") SELECT name FROM names WHERE name IS NOT NULL"
            )
        else:
            statement = select(Log.process_name).distinct().order_by(literal_column("process_name"))
        return self._read(lambda session: tuple(session.scalars(statement)))

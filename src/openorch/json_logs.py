"""`--log-format json`: one JSON object a line, for log shippers (Loki, Elastic, Splunk).

Each line is `{"time", "level", "program", "event", "ids", "message"}`:

* `time`: UTC, ISO 8601 with milliseconds; `level`: debug, info, warning or error;
* `program`: orchestrator, scheduler or api;
* `event`: a stable name to filter on (`job_started`, `job_finished`, `http_request`,
  ...), `message` for a line without a better name;
* `ids`: the ids a line names (`job`, `run`), `{}` when none;
* `message`: the text the program prints in text mode, masked the same way (`mask`).

The programs print plain lines (`print`, the Scheduler engine's output) and log through
`logging` (uvicorn, NiceGUI, `openorch.api`). Rather than teach every call site a second
format, `install` puts this module in both paths once: stdout and stderr become
`JsonLines` streams (each finished line becomes one object; stderr lines are warnings or
errors), and the logging handlers use `JsonFormatter`. Both write to the process's
original streams, so nothing is formatted twice. The names of events come from one table
(`EVENTS`), next to the texts they recognise.
"""

import io
import json
import logging
import re
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

from openorch.masking import mask

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
#: "job <uuid>" and "run <uuid>" in a line become ids["job"] and ids["run"].
_IDS = re.compile(rf"\b(job|run|trigger|element|alert) ({_UUID})\b")
#: The Scheduler engine's lines start with the local time of day; JSON has `time`.
_CLOCK = re.compile(r"^\d\d:\d\d:\d\d ")

#: (pattern, event, level or None to keep the stream's). First match wins.
EVENTS: tuple[tuple[re.Pattern[str], str, str | None], ...] = tuple(
    (re.compile(pattern), event, level)
    for pattern, event, level in (
        (r"^Starting '.*, job ", "job_started", "info"),
        (r"^'.*' finished \(exit 0", "job_finished", "info"),
        (r"^'.*' failed \(exit ", "job_failed", "warning"),
        (r"^Killed '", "job_killed", "warning"),
        (r"^Could not launch '", "job_launch_failed", "error"),
        (r"^Restarted: job ", "job_left_running", "warning"),
        (r"is silent past its heartbeat timeout", "scheduler_reaped", "warning"),
        (r"^Registered as run ", "scheduler_registered", "info"),
        (r"^Scheduler '.*' started", "scheduler_started", "info"),
        (r"^Scheduler stopped\.", "scheduler_stopped", "info"),
        (r"^Stopping", "scheduler_stopping", "info"),
        (r"^(Paused|Running): ", "scheduler_paused_or_resumed", "info"),
        (r"^Database error while ", "database_unreachable", "error"),
        (r"^The database is reachable again", "database_reachable", "info"),
        (r"^Heartbeat ", "heartbeat_failed", "warning"),
        (r"^Watchdog: alert opened", "alert_opened", "warning"),
        (r"^Watchdog: recovered", "alert_closed", "info"),
        (r"^Watchdog: sent ", "alert_sent", "info"),
        (r"^Watchdog: pruned ", "prune_run", "info"),
        (r"^Watchdog: ", "watchdog", None),
        (r"^Orchestrator running on ", "orchestrator_started", "info"),
        (r"^openorch API on ", "api_started", "info"),
        (r"^Database: ", "database", "info"),
        (r"^Warning: ", "warning", "warning"),
        (r"(cannot start|Cannot start|Cannot serve)", "start_failed", "error"),
    )
)

#: uvicorn's access log; other loggers are named by their logger.
_LOGGER_EVENTS = {"uvicorn.access": "http_request", "uvicorn.error": "server"}


def record(
    program: str,
    level: str,
    message: str,
    *,
    event: str = "message",
    ids: dict[str, str] | None = None,
    when: datetime | None = None,
) -> dict[str, Any]:
    """One log object; the message masked (passwords, tokens) as in text mode."""
    moment = (when or datetime.now(UTC)).astimezone(UTC)
    return {
        "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": level if level in LEVELS else "info",
        "program": program,
        "event": event,
        "ids": ids or {},
        "message": mask(message),
    }


def dumps(entry: dict[str, Any]) -> str:
    """The object as one line (no newline inside: JSON escapes them)."""
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)


def classify(line: str, default_level: str) -> tuple[str, str, str, dict[str, str]]:
    """A printed line's (message, level, event, ids): the clock prefix dropped, the event
    and level from `EVENTS`, the ids from "job <uuid>"-style words."""
    message = _CLOCK.sub("", line, count=1)
    level, event = default_level, "message"
    for pattern, name, named_level in EVENTS:
        if pattern.search(message):
            event = name
            level = named_level or default_level
            break
    ids = {kind: value for kind, value in _IDS.findall(message)}
    return message, level, event, ids


class JsonLines(io.TextIOBase):
    """A text stream that writes each finished line as one JSON object to `target`.

    Each line is its own object (a multi-line print becomes several); an uncaught
    exception's traceback is one object (`install` sets `sys.excepthook`). Thread-safe:
    the Scheduler prints from its loop, its watchdog and signal handlers.
    """

    def __init__(self, program: str, target: TextIO, level: str) -> None:
        super().__init__()
        self.program = program
        self.target = target
        self.level = level
        self._pending = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" not in self._pending:
                return len(text)
            finished, self._pending = self._pending.rsplit("\n", 1)
            for line in finished.split("\n"):
                if line.strip():
                    self._emit(line)
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def _emit(self, line: str) -> None:
        message, level, event, ids = classify(line, self.level)
        self.target.write(dumps(record(self.program, level, message, event=event, ids=ids)))
        self.target.write("\n")
        self.target.flush()


class JsonFormatter(logging.Formatter):
    """A `logging` formatter producing the same objects as `JsonLines`.

    `event` and `ids` can be given per record (`extra={"event": ..., "ids": {...}}`);
    otherwise the event is named after the logger.
    """

    def __init__(self, program: str) -> None:
        super().__init__()
        self.program = program

    def format(self, entry: logging.LogRecord) -> str:
        message = entry.getMessage()
        if entry.exc_info:
            message += "\n" + self.formatException(entry.exc_info)
        level = {"critical": "error", "fatal": "error", "warn": "warning"}.get(
            entry.levelname.lower(), entry.levelname.lower()
        )
        event = getattr(entry, "event", None) or _LOGGER_EVENTS.get(entry.name, entry.name)
        ids = getattr(entry, "ids", None) or {}
        when = datetime.fromtimestamp(entry.created, UTC)
        return dumps(record(self.program, level, message, event=event, ids=ids, when=when))


class _OriginalStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to the process's real stderr, never the `JsonLines` wrapper."""

    def __init__(self, program: str = "openorch") -> None:
        super().__init__(sys.__stderr__)
        self.setFormatter(JsonFormatter(program))


def uvicorn_log_config(program: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn (`uvicorn.run(log_config=...)`): its
    server and access lines as JSON objects on stderr."""
    handler = {"()": f"{__name__}._OriginalStderr", "program": program}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"json": handler},
        "loggers": {
            name: {"handlers": ["json"], "level": "INFO", "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def install(program: str) -> None:
    """Make this process log JSON lines: stdout and stderr wrapped, the root logger's
    handler replaced. Call once, at start, before anything is printed."""
    stdout = sys.__stdout__ or sys.stdout
    stderr = sys.__stderr__ or sys.stderr
    sys.stdout = JsonLines(program, stdout, "info")
    sys.stderr = JsonLines(program, stderr, "error")
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_OriginalStderr(program))  # its level stays: no library chatter

    def one_object(kind: Any, error: BaseException, trace: Any) -> None:
        logging.getLogger("openorch").error(
            "Uncaught %s", kind.__name__, exc_info=(kind, error, trace), extra={"event": "crash"}
        )

    sys.excepthook = one_object

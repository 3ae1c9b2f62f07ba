"""The JSON line format itself: one object a line, masked, events and ids recognised."""

import io
import json
import logging
import uuid

from openorch.json_logs import JsonFormatter, JsonLines


def test_each_finished_line_is_one_masked_object() -> None:
    target = io.StringIO()
    stream = JsonLines("scheduler", target, "info")
    job = uuid.uuid4()
    stream.write(f"12:00:01 Starting 'nightly' (invoices), job {job}.\n")
    stream.write("Database: postgresql+psycopg://robot:Hunter2-pw@db/orch\nhalf a ")
    stream.write("line\n")
    lines = target.getvalue().splitlines()
    first, second, third = (json.loads(line) for line in lines)
    assert first["event"] == "job_started" and first["ids"] == {"job": str(job)}
    assert first["message"] == f"Starting 'nightly' (invoices), job {job}."
    assert second["event"] == "database" and "Hunter2-pw" not in second["message"]
    assert third["message"] == "half a line" and third["event"] == "message"


def test_stderr_lines_are_errors_unless_they_say_warning() -> None:
    target = io.StringIO()
    stream = JsonLines("api", target, "error")
    stream.write("Warning: the key does not match\nboom\n")
    warning, error = (json.loads(line) for line in target.getvalue().splitlines())
    assert (warning["level"], warning["event"]) == ("warning", "warning")
    assert error["level"] == "error"


def test_logging_records_carry_event_ids_and_traceback() -> None:
    formatter = JsonFormatter("api")
    try:
        raise RuntimeError("url?token=oot_abcdefabcdefabcdefabcdef leaked?")
    except RuntimeError as error:
        entry = logging.LogRecord("openorch.api", logging.ERROR, __file__, 1, "bad", (), None)
        entry.exc_info = (type(error), error, error.__traceback__)
    entry.ids = {"job": "1"}  # type: ignore[attr-defined]
    line = formatter.format(entry)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["event"] == "openorch.api" and parsed["ids"] == {"job": "1"}
    assert parsed["level"] == "error" and "RuntimeError" in parsed["message"]
    assert "oot_abcdefabcdefabcdefabcdef" not in parsed["message"]

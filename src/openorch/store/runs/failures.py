"""Why a job failed, in one line an admin can read in a table row, and the meaningful
part of a long log message first.

The Scheduler writes how a failed process ended as the job's last ERROR log
(`exit_message`: the exit code and the end of its error output, often a traceback). A
table that cut that text at 100 characters from the start showed only
"...Traceback (most recent call last): Fi...". This module is the one place that
knows that message's shape: it writes it (`exit_message`) and reads it back
(`failure_reason`, `summarize_message`). No SQL here; `JobStore.get_failure_reasons`
finds the messages.
"""

import re

from openorch.database import Job, JobOutcome, JobStatus

#: What Python prints before a traceback.
TRACEBACK_START = "Traceback (most recent call last):"

#: The Scheduler's end message for a non-zero exit (and the data layer's default one).
_EXIT = re.compile(
    r"The process (?:exited|ended) with (?:exit )?code (?P<code>-?\d+)\.\s*"
    r"(?:The end of its error output:\n(?P<tail>.*))?",
    re.DOTALL,
)


def exit_message(code: int, error_tail: str) -> str:
    """What the Scheduler logs for a process that exited with a non-zero `code`: the
    code and the end of its error output (`error_tail`), which `failure_reason` reads."""
    message = f"The process exited with code {code}."
    if error_tail.strip():
        return message + f" The end of its error output:\n{error_tail}"
    return message + " It wrote no error output."


def last_error_line(text: str) -> str:
    """The line that says what went wrong: for a Python traceback the exception line
    (the last line not indented), else the last non-blank line."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    if TRACEBACK_START in text:
        for line in reversed(lines):
            if not line[:1].isspace() and line.strip() != TRACEBACK_START:
                return line.strip()
    return lines[-1].strip()


def reason_from_message(message: str) -> str:
    """One line from a job's end message: `ZeroDivisionError: division by zero · exit 1`
    for the Scheduler's exit message, else the message's first line."""
    found = _EXIT.match(message.strip())
    if found is not None:
        code = found.group("code")
        tail = found.group("tail") or ""
        line = last_error_line(tail)
        return f"{line} · exit {code}" if line else f"exit {code}, no error output"
    return first_line(message)


def first_line(text: str) -> str:
    """The first non-blank line of `text`, stripped ('' when there is none)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def failure_reason(job: Job, end_message: str | None) -> str:
    """Why `job` failed, in one line; '' for a job that did not fail.

    The failure the process reported itself comes first (it knows best), then how it
    ended (`end_message`: the job's last ERROR log, written by the Scheduler or a reaper).
    """
    if job.status is not JobStatus.FAILED:
        return ""
    if job.outcome is JobOutcome.FAILED and job.outcome_message:
        return first_line(job.outcome_message)
    if end_message:
        return reason_from_message(end_message)
    return ""


def summarize_message(message: str) -> str:
    """A log message with its meaningful part first, for a table cell: a crash reads
    `ZeroDivisionError: division by zero · exit 1 · traceback below` instead of its first
    100 characters; any other message is returned as it is."""
    stripped = message.strip()
    if _EXIT.match(stripped) is not None:
        summary = reason_from_message(stripped)
        return summary + (" · traceback below" if TRACEBACK_START in stripped else "")
    if TRACEBACK_START in stripped:
        before = first_line(stripped.split(TRACEBACK_START, 1)[0])
        line = last_error_line(stripped)
        return f"{before} {line}".strip() + " · traceback below"
    return message

"""`openorch copy SOURCE TARGET`: move an openorch database to another server.

The work is the data layer's (`store/ops/copying.py`); this module turns the words on the
command line into connection strings (`local` is local mode's SQLite file), draws the
progress and prints the row counts. Connection strings are masked in every line.
Exit codes: 0 copied and verified, 1 the copy failed or the counts differ, 2 refused
(nothing was written).
"""

import sys
from typing import TextIO

from openorch.config import ENV_CONN, ENV_KEY, data_dir, local_database_path
from openorch.masking import mask
from openorch.store.errors import CopyFailed, CopyRefused
from openorch.store.ops.copying import (
    DEFAULT_BATCH_SIZE,
    CopyResult,
    Progress,
    copy_database,
)

#: The word that names local mode's database as SOURCE.
LOCAL = "local"

_BAR_WIDTH = 30


def _error(message: str) -> None:
    print(f"openorch copy: error: {mask(message)}", file=sys.stderr)


class ProgressDisplay:
    """A progress bar redrawn in place on a terminal. To a file or a pipe (a log then
    holds no carriage returns): one line per table with rows when it is done, and one
    every `LOG_EVERY` rows inside a big table."""

    #: Rows between two progress lines when the output is not a terminal.
    LOG_EVERY = 100_000

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self._drawn = False
        self._logged = 0

    def __call__(self, progress: Progress) -> None:
        if self.live:
            self._draw(progress)
            return
        if progress.table_done == 0:
            self._logged = 0
        finished = progress.table_done == progress.table_total
        if (finished and progress.table_total) or (
            progress.table_done - self._logged >= self.LOG_EVERY and not finished
        ):
            self._logged = progress.table_done
            self.stream.write(
                f"  {progress.table:<24} {progress.table_done:>12,} of "
                f"{progress.table_total:,} rows ({progress.done:,} of {progress.total:,} in all)\n"
            )
            self.stream.flush()

    def _draw(self, progress: Progress) -> None:
        share = progress.done / progress.total if progress.total else 1.0
        filled = round(share * _BAR_WIDTH)
        bar = "#" * filled + "." * (_BAR_WIDTH - filled)
        line = (
            f"[{bar}] {share:4.0%}  {progress.table} "
            f"{progress.table_done:,}/{progress.table_total:,}"
        )
        self.stream.write(f"\r{line:<79}")
        self.stream.flush()
        self._drawn = True

    def end(self) -> None:
        """Leave the terminal's line to what is printed next."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def _report(result: CopyResult) -> int:
    width = max(len(count.table) for count in result.counts)
    print(f"{'table':<{width}}  {'source':>10}  {'target':>10}")
    for count in result.counts:
        flag = "" if count.matches else "  DIFFERS"
        print(f"{count.table:<{width}}  {count.source:>10,}  {count.target:>10,}{flag}")
    if result.mismatches:
        names = ", ".join(count.table for count in result.mismatches)
        _error(
            f"the row counts differ in {names}: did a program write into the target during "
            "the copy? Empty the target (or make a new one) and copy again."
        )
        return 1
    print(f"Row counts match in all {len(result.counts)} tables: {result.rows:,} rows copied.")
    return 0


def run_copy(source: str, target: str, *, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Copy the database `source` (a connection string or `local`) into the empty
    database `target`. Returns the exit code."""
    if target.strip().lower() == LOCAL:
        _error(
            "TARGET must be a connection string: local mode's database is only a SOURCE "
            "(copying into it would pair it with the wrong key). Nothing was changed."
        )
        return 2
    from_local = source.strip().lower() == LOCAL
    if from_local:
        path = local_database_path()
        if not path.is_file():
            _error(
                f"local mode has no database at {path} (its folder is {data_dir()}; set "
                "OPENORCH_HOME if it is elsewhere). Nothing was changed."
            )
            return 2
        source = f"sqlite:///{path}"
        print(f"Source: local mode's database {path}")
    else:
        print(f"Source: {mask(source)}")
    print(f"Target: {mask(target)}")
    display = ProgressDisplay(sys.stderr)
    try:
        result = copy_database(
            source, target, batch_size=batch_size, on_progress=display, on_note=print
        )
    except CopyRefused as error:
        display.end()
        message = str(error)
        _error(message if "Nothing was changed" in message else f"{message} Nothing was changed.")
        return 2
    except CopyFailed as error:
        display.end()
        _error(str(error))
        return 1
    display.end()
    code = _report(result)
    if code == 0:
        key_place = (
            f"local mode's key, in the file {data_dir() / 'openorch.key'}"
            if from_local
            else "the key the source's programs use"
        )
        print(
            "Credentials were copied encrypted: give every program on the new database "
            f"{key_place} ({ENV_KEY} or --key), and the new connection string "
            f"({ENV_CONN} or --conn)."
        )
    return code

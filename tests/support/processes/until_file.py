"""Waits until a file exists, then exits with a given code; touches no database.

process_args is "<path> <exit code>". A test creates the file at the moment it wants the
process to end (an outage test: once the database is down), so the ending does not
depend on how fast a loaded machine starts the other processes. Gives up after 120 s.
"""

import sys
import time
from pathlib import Path

path, code = sys.argv[4].rsplit(" ", 1)
deadline = time.monotonic() + 120
while not Path(path).exists() and time.monotonic() < deadline:
    time.sleep(0.05)
if int(code):
    sys.stderr.write("waited for the test's signal, then failed on purpose\n")
sys.exit(int(code))

"""Writes 10 MB to stderr, then a recognisable last line, and exits 1.

A Scheduler that reads stderr through a pipe it never drains would hang here.
"""

import sys

chunk = "x" * 1023 + "\n"
for _ in range(10 * 1024):
    sys.stderr.write(chunk)
sys.stderr.write("THE LAST LINE OF STDERR\n")
sys.stderr.flush()
sys.exit(1)

"""Sleeps process_args seconds without touching the database, then exits 0."""

import sys
import time

time.sleep(float(sys.argv[4] or 0))

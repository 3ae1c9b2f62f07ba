"""Sleeps process_args seconds without touching the database, says why on stderr, exits 1."""

import sys
import time

time.sleep(float(sys.argv[4] or 0))
sys.stderr.write("napped, then failed on purpose\n")
sys.exit(1)

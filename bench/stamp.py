"""A process for the dispatch-latency benchmark: writes the time it started running
(seconds since the epoch) to the file named by its process_args (argv[4])."""

import sys
import time

started = time.time()
with open(sys.argv[4], "w", encoding="ascii") as out:
    out.write(repr(started))

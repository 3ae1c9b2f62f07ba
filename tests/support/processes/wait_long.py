"""Waits for as many seconds as process_args says, without `time.sleep`.

Used under libfaketime: its 0.9.10 clock_nanosleep wrapper fails `time.sleep` with
EINVAL when the monotonic clock is not faked; `Event.wait` is unaffected. Does not import
openorch, so it starts fast.
"""

import sys
import threading

threading.Event().wait(float(sys.argv[4]))

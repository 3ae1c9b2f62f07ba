"""Writes its process_args (sys.argv[4]) as raw bytes to $OPENORCH_ECHO_DIR/<trigger id>.

`os.fsencode` gives back the exact bytes the OS handed over, so the test compares what
the admin typed with what the process received, byte for byte. Does not import openorch.
"""

import os
import sys
from pathlib import Path

target = Path(os.environ["OPENORCH_ECHO_DIR"]) / sys.argv[5]
target.with_suffix(".tmp").write_bytes(os.fsencode(sys.argv[4]))
target.with_suffix(".tmp").replace(target)

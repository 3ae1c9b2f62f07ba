"""Starts a child that sleeps, writes both pids to the file named by process_args, sleeps.

Used to check that killing takes the whole process tree down. Does not import openorch,
so it starts fast.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
pid_file = Path(sys.argv[4])
pid_file.with_suffix(".tmp").write_text(f"{os.getpid()} {child.pid}")
pid_file.with_suffix(".tmp").replace(pid_file)
time.sleep(120)

"""The Scheduler: the worker that polls the database and runs processes.

`SchedulerEngine` does the work and knows nothing of a UI; `openorch s --headless` and
the Tk window (`openorch s`) both drive it. Importing this package does not import Tk.
"""

from openorch.scheduler.config import SchedulerSettings
from openorch.scheduler.engine import ConnectError, RunState, SchedulerEngine, open_store

__all__ = ["ConnectError", "RunState", "SchedulerEngine", "SchedulerSettings", "open_store"]

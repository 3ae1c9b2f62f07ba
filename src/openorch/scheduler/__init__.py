"""The Scheduler: the worker that polls the database and runs processes.

`SchedulerEngine` does the work and knows nothing of a UI; `openorch s --headless` and
the Tk window (`openorch s`) both drive it. Importing this package does not import Tk.
"""

from openorch.scheduler.config import SchedulerSettings
from openorch.scheduler.engine import RunState, SchedulerEngine

__all__ = ["RunState", "SchedulerEngine", "SchedulerSettings"]

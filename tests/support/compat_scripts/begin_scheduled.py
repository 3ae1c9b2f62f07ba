"""The original Scheduler's cycle for one scheduled trigger, through whichever
`OpenOrchestrator` package is importable: read every trigger, begin the one given (the
original recomputes `next_run` from the cron alone), set it back to IDLE. Prints JSON.

    python begin_scheduled.py URL TRIGGER_ID
"""

import json
import sys

from OpenOrchestrator.database import db_util
from OpenOrchestrator.database.triggers import TriggerStatus

url, trigger_id = sys.argv[1:3]
db_util.connect(url)
names = sorted(trigger.trigger_name for trigger in db_util.get_all_triggers())
began = db_util.begin_scheduled_trigger(trigger_id)
db_util.set_trigger_status(trigger_id, TriggerStatus.IDLE)
print(json.dumps({"names": names, "began": began}))

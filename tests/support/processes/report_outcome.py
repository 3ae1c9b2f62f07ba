"""Reports an outcome through the SDK as its process_args (JSON) say, then exits.

process_args: {"report": [["completion"|"failure", message, data], ...], "exit": code}.
Every report is made in order (the last one wins); the args themselves come back in
the data of a completion as "args", so a test sees which arguments the run received.
"""

import json
import sys

from openorch import OrchestratorConnection

connection = OrchestratorConnection.create_connection_from_args()
plan = json.loads(connection.process_arguments or "{}")
connection.log_info(f"report_outcome ran with {len(plan.get('report', []))} report(s)")
for kind, message, data in plan.get("report", []):
    if kind == "completion":
        connection.report_completion(message, {"args": plan, "data": data})
    else:
        connection.report_failure(message, data)
connection.close()
sys.exit(int(plan.get("exit", 0)))

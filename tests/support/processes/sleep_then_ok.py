"""Logs that it sleeps, sleeps process_args seconds (a number), logs again, exits 0.

The first log row tells a test the process is connected and asleep (an outage test
stops the database only then); the second proves its connection survived the sleep.
"""

import time

from openorch import OrchestratorConnection

connection = OrchestratorConnection.create_connection_from_args()
connection.log_info(f"sleeping {connection.process_arguments} s")
time.sleep(float(connection.process_arguments or 0))
connection.log_info("slept and finished")
connection.close()

"""Sleeps for process_args seconds (a number), then logs through the SDK and exits 0."""

import time

from openorch import OrchestratorConnection

connection = OrchestratorConnection.create_connection_from_args()
time.sleep(float(connection.process_arguments or 0))
connection.log_info("slept and finished")
connection.close()

"""Logs one INFO row through the SDK with its argv and working folder, then exits 0."""

import os
import sys

from openorch import OrchestratorConnection

connection = OrchestratorConnection.create_connection_from_args()
connection.log_info(
    f"ok ran; args={connection.process_arguments!r}; argc={len(sys.argv)}; cwd={os.getcwd()}"
)
connection.close()

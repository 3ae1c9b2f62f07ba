"""Uses the SDK the way a robot does (log, constant, credential, queue element) and prints
a fixed line: the test checks its output files hold that line and nothing else."""

from openorch import OrchestratorConnection

connection = OrchestratorConnection.create_connection_from_args()
connection.log_info(f"robot ran with {connection.process_arguments}")
password = connection.get_credential("mail").password
element = connection.create_queue_element("outbox", "ref-1", f"len={len(password)}")
connection.set_queue_element_status(element.id, "DONE", "sent")
connection.log_info(f"constant={connection.get_constant('greeting').value}")
connection.close()
print("robot says hello")

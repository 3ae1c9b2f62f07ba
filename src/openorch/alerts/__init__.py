"""Alerts: the rules that decide something went wrong, the channels that say so (SMTP,
webhooks), and the watchdog that runs them once for the whole fleet inside the
Schedulers. All data goes through `openorch.store`."""

from openorch.alerts.channels import SendError, send, send_test
from openorch.alerts.messages import Message
from openorch.alerts.watchdog import Watchdog

__all__ = ["Message", "SendError", "Watchdog", "send", "send_test"]

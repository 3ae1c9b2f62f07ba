"""Dialogs the tabs open: trigger, constant, credential, log, job logs, queue elements."""

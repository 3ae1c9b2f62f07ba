"""`BusinessError`: the case itself is wrong, and retrying it is pointless (issue 27).

Raise it (or subclass it) where a robot finds an unknown customer, a missing document,
an amount over a limit: in a `Pipeline` step the element goes to the review inbox (per
the queue's setting) with the step's state kept and is never retried automatically.
Outside a pipeline, report it with
`set_queue_element_status(element_id, QueueStatus.FAILED, message, kind="business")`.
Every other exception is an application failure (retried as the queue's settings allow).
"""


class BusinessError(Exception):
    """A business failure: a person must decide, a retry would fail the same way."""

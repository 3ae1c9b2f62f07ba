"""The original's `db_util` functions over one default connection, re-exported from
`openorch.sdk.db_util` (which holds that connection and delegates to openorch's data
layer), with the names the original's module also offered: the model classes, the enums
and `truncate_message`."""

from typing import Any

from openorch.database import (
    Constant,
    Credential,
    Job,
    JobStatus,
    Log,
    LogLevel,
    QueueElement,
    QueueStatus,
    QueueTrigger,
    ScheduledTrigger,
    Scheduler,
    SingleTrigger,
    Trigger,
    TriggerStatus,
)
from openorch.sdk import crypto_util
from openorch.sdk import db_util as _implementation
from openorch.sdk.db_util import __all__ as __all__
from openorch.store.runs.logs import truncate_message


def __getattr__(name: str) -> Any:
    # Module state (`_connection_engine`) and every function live in openorch.sdk.db_util,
    # which makes most of them on first access (start-up time): asked for here, each is
    # looked up there (not copied by `import *`, which would make them all at once).
    return getattr(_implementation, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

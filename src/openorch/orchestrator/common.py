"""Small helpers every tab and popup uses: test ids, error notifications, off-loop
database calls and datetime text.

Database calls run in a worker thread (`run.io_bound`) so a slow server never freezes
the event loop that serves every open browser tab.
"""

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from nicegui import app, run, ui
from sqlalchemy.exc import SQLAlchemyError

from openorch.database import QueueElement, QueueStatus
from openorch.identity import Identity
from openorch.masking import mask
from openorch.roles import may
from openorch.store import describe_connection_error

E = TypeVar("E", bound=ui.element)
T = TypeVar("T")
P = ParamSpec("P")

log = logging.getLogger("openorch.orchestrator")

#: The filter choice that means "no filter" (status, level, process selects).
ALL = "All"

#: Format of every datetime the Orchestrator shows (dd-mm-YYYY HH:MM:SS).
DATETIME_FORMAT = "%d-%m-%Y %H:%M:%S"


def tid(element: E, test_id: str) -> E:
    """Give an element a stable test id: a NiceGUI marker (for the `User` fixture) and a
    `data-testid` attribute (for a real browser)."""
    element.mark(test_id)
    element.props(f"data-testid={test_id}")
    return element


def shown_if(element: E, identity: Identity, action: str) -> E:
    """Hide `element` unless `identity`'s role may do `action` (`openorch.roles`).

    A courtesy only: the role is checked again on the server when the action runs
    (`client_store.RoleCheckedStore`), and NiceGUI ignores events of hidden elements."""
    element.visible = may(identity, action)
    return element


def fmt(value: datetime | None, empty: str = "") -> str:
    """A datetime as every table shows it (dd-mm-YYYY HH:MM:SS); `empty` for None."""
    return empty if value is None else value.strftime(DATETIME_FORMAT)


def describe_error(error: BaseException) -> str:
    """A message an admin can act on, for an error raised by the data layer, with any
    password or token in it masked (errors quote connection strings and URLs)."""
    if isinstance(error, ValueError):
        return mask(str(error))
    if isinstance(error, SQLAlchemyError | OSError):
        return "Database error: " + describe_connection_error(error)
    return mask(f"Unexpected error ({type(error).__name__}): {error}")


def notify_error(error: BaseException) -> None:
    """Show an error as a red notification, never as a dead page."""
    if not isinstance(error, ValueError):
        log.warning("Orchestrator handler failed", exc_info=error)
    notify_result(describe_error(error), "negative", multi_line=True, close_button=True)


#: The Quasar group of every notification that says how an action went: a later one
#: replaces the one shown (a red error does not stay beside the success that followed
#: it, and repeated errors do not stack over the Save button). The badge Quasar counts
#: replacements with is hidden.
RESULT_GROUP = "openorch-result"


def notify_result(message: str, kind: str, **options: Any) -> None:
    """Say how an action went ("positive", "warning" or "negative"), replacing the last
    such note."""
    ui.notify(
        message,
        type=kind,  # type: ignore[arg-type]
        group=RESULT_GROUP,
        badgeClass="hidden",
        **options,
    )


def guarded(handler: Callable[P, Any]) -> Callable[P, Awaitable[None]]:
    """Wrap an event handler so any error becomes a notification.

    NiceGUI logs an escaping exception and the admin sees nothing; a handler wrapped here
    tells the admin what went wrong and leaves the page usable.
    """

    # NiceGUI passes the event argument only to handlers that take one; the wrapper takes
    # *args, so it drops the argument itself for handlers that take none.
    takes_arguments = bool(inspect.signature(handler).parameters)

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            result = handler(*args, **kwargs) if takes_arguments else handler()  # type: ignore[call-arg]
            if inspect.isawaitable(result):
                await result
        except Exception as error:  # the whole point: nothing escapes to a dead page
            notify_error(error)

    return wrapper


async def off_loop(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking data-layer call in a worker thread and return its result.

    The call runs as the page's signed-in person (`who.current_identity()` answers it
    in the thread too, where NiceGUI knows no page)."""
    from openorch.orchestrator import who

    identity = who.current_identity()

    def as_identity() -> T:
        with who.acting(identity):
            return function(*args, **kwargs)

    result = await run.io_bound(as_identity)
    if app.is_stopping:
        # NiceGUI hands back None instead of running the call while it shuts down.
        raise asyncio.CancelledError
    return result  # type: ignore[return-value]


#: How many of an id's last characters a table shows.
SHORT_ID_CHARS = 8


def short_id(value: object) -> str:
    """The end of an id ("…3f9a1c2e"), enough to tell rows apart at a glance. Not the
    start: openorch's ids are time-ordered (UUIDv7), so ids made in the same minutes
    share their first characters (six jobs all read `01a24768`) and differ at the end."""
    text = str(value) if value else ""
    return "…" + text[-SHORT_ID_CHARS:] if len(text) > SHORT_ID_CHARS else text


def cut(text: str | None, length: int = 100) -> str:
    """The first `length` characters of a text, with "..." when it was longer."""
    if not text:
        return ""
    return text if len(text) <= length else text[:length] + "..."


#: Statuses an attempt ends in or is still in (counted by `attempts_made`, not stored; display only,
#: so it lives with the UI, not the data layer).
_ATTEMPT_IN_STATUS = (QueueStatus.IN_PROGRESS, QueueStatus.DONE, QueueStatus.FAILED)


def attempts_made(element: QueueElement) -> int:
    """How many times the element was taken up, as an admin counts: the stored
    `attempts` (attempts that ended without finishing it: retried or abandoned) plus the
    one it is in, or that ended it Done or Failed. A Failed element showed "Attempts 0"."""
    ended = element.attempts or 0
    current = element.status in _ATTEMPT_IN_STATUS and element.start_date is not None
    return ended + (1 if current else 0)

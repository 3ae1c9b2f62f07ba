"""The identity behind the page handling the current event.

Each page is bound to the identity of the session that opened it (`bind`, called by
`main.RootPage` once the page has shown its session secret); the start-up token signs in
as `TOKEN_ADMIN`. Data-layer calls run in worker threads, where NiceGUI knows no page:
the page's role-checked store (`client_store.RoleCheckedStore`) runs each call inside
`acting(identity)`, so `current_identity()` answers there too.
"""

import contextlib
import contextvars
import weakref
from collections.abc import Iterator

from openorch.identity import TOKEN_ADMIN, Identity

#: The identity of the data-layer call running in this thread or task, if any.
_ACTING: contextvars.ContextVar[Identity | None] = contextvars.ContextVar(
    "openorch_acting", default=None
)
#: The identity of every open page, by its NiceGUI client.
_PAGES: "weakref.WeakKeyDictionary[object, Identity]" = weakref.WeakKeyDictionary()


def bind(client: object, identity: Identity) -> None:
    """Remember who signed in to the page `client` shows."""
    _PAGES[client] = identity


@contextlib.contextmanager
def acting(identity: Identity) -> Iterator[None]:
    """Make `current_identity()` answer `identity` inside the block (a data-layer call
    in a worker thread)."""
    token = _ACTING.set(identity)
    try:
        yield
    finally:
        _ACTING.reset(token)


def current_identity() -> Identity:
    """The identity of the browser whose event is being handled (TOKEN_ADMIN outside
    any page: the command line, the start-up token's own tools)."""
    acting_now = _ACTING.get()
    if acting_now is not None:
        return acting_now
    try:
        from nicegui import context

        client = context.client
    except (RuntimeError, ImportError):  # no page: not inside an event of the UI
        return TOKEN_ADMIN
    return _PAGES.get(client, TOKEN_ADMIN)

"""The identity behind the page handling the current event.

Until sign-in with accounts exists, every browser signed in with the start-up token, so
this is the token admin; sign-in (issue 30) makes it the session's own identity.
"""

from openorch.identity import TOKEN_ADMIN, Identity


def current_identity() -> Identity:
    """The identity of the browser whose event is being handled."""
    return TOKEN_ADMIN

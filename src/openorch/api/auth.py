"""Bearer-token authentication and scopes.

A request names its token in `Authorization: Bearer <secret>`; the data layer finds the
token by the secret's hash and refuses revoked or expired ones. Scopes: READ (every GET),
RUN (start runs), QUEUE_WRITE (add queue elements), METRICS (`/metrics`), REVIEW (list
and decide review items), AUDIT (read the audit trail: who did what; READ is not enough).
The secret is never logged.

Wrong tokens are counted per client address and in total (`openorch.sign_in_limiter`):
past the limit, a request with a token gets 429 and `Retry-After` before its token is
even looked at.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from openorch.database import ApiScope, ApiToken
from openorch.sign_in_limiter import SignInLimiter
from openorch.store import Store

_bearer = HTTPBearer(auto_error=False, description="A token created in the Orchestrator's API tab.")


def get_store(request: Request) -> Store:
    """The data layer the application was built with."""
    store: Store = request.app.state.store
    return store


def authenticate(request: Request, secret: str) -> ApiToken:
    """The active token with this secret, counting a wrong one against the caller.

    Raises:
        HTTPException: 429 while the caller's address (or everyone) made too many
            failed attempts; 401 for an unknown, revoked or expired token.
    """
    limiter: SignInLimiter = request.app.state.limiter
    address = request.client.host if request.client else "unknown"
    wait = limiter.retry_after(address)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"Too many failed token checks: try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
    token = get_store(request).authenticate_api_token(secret)
    if token is None:
        limiter.failed(address, "an unknown, revoked or expired API token")
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "The token is unknown, revoked or expired.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return token


def optional_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiToken | None:
    """A dependency: the caller's token when it sent one (checked as `require` does),
    None when it sent none."""
    if credentials is None:
        return None
    token = authenticate(request, credentials.credentials)
    request.state.token_name = token.name
    return token


def require(scope: ApiScope) -> Callable[..., ApiToken]:
    """A dependency admitting only an active token that has `scope`."""

    def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiToken:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "Missing token: send 'Authorization: Bearer <token>' (tokens are created "
                "in the Orchestrator's API tab).",
                headers={"WWW-Authenticate": "Bearer"},
            )
        token = authenticate(request, credentials.credentials)
        if scope not in token.scope_set:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"The token '{token.name}' lacks the {scope.name} scope this request needs.",
            )
        request.state.token_name = token.name
        return token

    return check

"""Bearer-token authentication and scopes.

A request names its token in `Authorization: Bearer <secret>`; the data layer finds the
token by the secret's hash and refuses revoked or expired ones. Scopes: READ (every GET),
RUN (start runs), QUEUE_WRITE (add queue elements), METRICS (`/metrics`). The secret
is never logged.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from openorch.database import ApiScope, ApiToken
from openorch.store import Store

_bearer = HTTPBearer(auto_error=False, description="A token created in the Orchestrator's API tab.")


def get_store(request: Request) -> Store:
    """The data layer the application was built with."""
    store: Store = request.app.state.store
    return store


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
        token = get_store(request).authenticate_api_token(credentials.credentials)
        if token is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "The token is unknown, revoked or expired.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if scope not in token.scope_set:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"The token '{token.name}' lacks the {scope.name} scope this request needs.",
            )
        request.state.token_name = token.name
        return token

    return check

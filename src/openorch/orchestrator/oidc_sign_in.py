"""Sign in with an OpenID Connect provider: the authorization code flow with PKCE.

`start` sends the browser to the provider with a random `state` (also kept in a
short-lived cookie of this browser, so a sign-in another browser started cannot be
finished in this one), a random `nonce` and a PKCE code challenge; `finish` takes the
code the provider sends back, trades it (with the code verifier and the client secret)
for tokens at the provider's token endpoint, and accepts the ID token only when its
signature verifies with the provider's published keys (JWKS) and its issuer, audience,
expiry and nonce are right. The role comes from a claim (`roles_claim`) through the
sign-in file's mapping.

The provider's endpoints come from its discovery document, read at every sign-in (a
key rotation is picked up at once; sign-ins are rare). authlib builds the request
(`prepare_grant_uri`, the S256 code challenge) and joserfc (authlib's JOSE library)
checks the token; the two requests to the provider are plain httpx.
"""

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from openorch.identity import Identity
from openorch.sign_in_config import OidcSettings

#: Seconds a started sign-in may take at the provider.
PENDING_SECONDS = 600.0
#: Most sign-ins started and not finished at once (older ones are dropped).
MAX_PENDING = 1000
#: Signature algorithms an ID token may use (never "none", never a shared-secret HS*).
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
#: Seconds each request to the provider may take.
HTTP_TIMEOUT = 10.0


class OidcRefused(ValueError):
    """The sign-in is refused; the message can be shown on the sign-in page."""


@dataclass(frozen=True)
class Pending:
    """A sign-in sent to the provider and not back yet."""

    nonce: str
    verifier: str
    redirect_uri: str
    started: float


class OidcSignIn:
    """Sign-ins with one provider: those under way, and how to finish one."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._pending: dict[str, Pending] = {}

    async def _discover(self) -> dict[str, Any]:
        import httpx

        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
                response = await client.get(self.settings.discovery_url)
                response.raise_for_status()
                metadata: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise OidcRefused(
                f"{self.settings.name} cannot be reached right now ({type(error).__name__}). "
                "Try again later, or sign in with the Orchestrator's token."
            ) from error
        issuer = str(metadata.get("issuer", "")).rstrip("/")
        if issuer != self.settings.issuer.rstrip("/").removesuffix(
            "/.well-known/openid-configuration"
        ):
            raise OidcRefused(
                f"{self.settings.name}'s discovery document names the issuer {issuer!r}, "
                "not the one in the sign-in file: the sign-in is refused."
            )
        return metadata

    async def start(self, redirect_uri: str) -> tuple[str, str]:
        """Begin a sign-in: (the provider's address to send the browser to, the state
        to keep in the browser's cookie).

        Raises:
            OidcRefused: the provider cannot be reached.
        """
        from authlib.common.security import generate_token
        from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
        from authlib.oauth2.rfc7636 import create_s256_code_challenge

        metadata = await self._discover()
        state, nonce, verifier = (
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(32),
            generate_token(64),
        )
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            self.settings.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=" ".join(self.settings.scopes),
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        now = time.monotonic()
        with self._lock:
            self._forget_old(now)
            self._pending[state] = Pending(nonce, verifier, redirect_uri, now)
            while len(self._pending) > MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
        return str(url), state

    def _forget_old(self, now: float) -> None:
        for state in [s for s, p in self._pending.items() if now - p.started > PENDING_SECONDS]:
            del self._pending[state]

    async def finish(self, query: dict[str, str], cookie_state: str | None) -> Identity:
        """Finish a sign-in with what the provider sent back (`query`) and the state
        this browser kept (`cookie_state`): the person's identity.

        Raises:
            OidcRefused: the provider said no, the state is unknown, expired or another
                browser's, the code is refused, or the ID token is not valid.
        """
        if "error" in query:
            raise OidcRefused(
                f"{self.settings.name} did not sign you in: "
                f"{query.get('error_description') or query['error']}."
            )
        state, code = query.get("state", ""), query.get("code", "")
        if not state or not code:
            raise OidcRefused("The sign-in answer is incomplete: start again.")
        if not cookie_state or not hmac.compare_digest(state, cookie_state):
            raise OidcRefused(
                "This sign-in was not started in this browser (or its cookie expired): start again."
            )
        with self._lock:
            self._forget_old(time.monotonic())
            pending = self._pending.pop(state, None)
        if pending is None:
            raise OidcRefused("This sign-in expired or was already used: start again.")
        metadata = await self._discover()
        token = await self._redeem(metadata["token_endpoint"], code, pending)
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcRefused(f"{self.settings.name} sent no ID token (is openid in scopes?).")
        claims = await self.validate(id_token, pending.nonce, metadata)
        return self.identity(claims)

    async def _redeem(self, endpoint: str, code: str, pending: Pending) -> dict[str, Any]:
        """Trade the code (with the PKCE verifier and the client's secret) for tokens."""
        import httpx

        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.verifier,
            "client_id": self.settings.client_id,
        }
        extra: dict[str, Any] = {}
        if self.settings.token_auth == "client_secret_basic":
            # RFC 6749 2.3.1: both form-encoded before Basic's own encoding.
            extra["auth"] = (
                quote(self.settings.client_id, safe=""),
                quote(self.settings.client_secret, safe=""),
            )
        else:
            data["client_secret"] = self.settings.client_secret
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
                response = await client.post(
                    endpoint, data=data, headers={"Accept": "application/json"}, **extra
                )
        except httpx.HTTPError as error:
            raise OidcRefused(
                f"{self.settings.name} cannot be reached right now ({type(error).__name__})."
            ) from error
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code != 200 or not isinstance(answer, dict):
            why = answer.get("error_description") or answer.get("error") if answer else None
            raise OidcRefused(
                f"{self.settings.name} refused the sign-in "
                f"({why or f'HTTP {response.status_code}'})."
            )
        return answer

    async def validate(
        self, id_token: str, nonce: str, metadata: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The ID token's claims, once its signature (with the provider's JWKS), issuer,
        audience, expiry and nonce are checked.

        Raises:
            OidcRefused: any check fails.
        """
        import httpx
        from joserfc import jwt
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        metadata = metadata or await self._discover()
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
                response = await client.get(metadata["jwks_uri"])
                response.raise_for_status()
                keys = KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, KeyError, JoseError) as error:
            raise OidcRefused(
                f"{self.settings.name}'s signing keys cannot be read ({type(error).__name__})."
            ) from error
        try:
            token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
            registry = jwt.JWTClaimsRegistry(
                leeway=self.settings.leeway,
                iss={"essential": True, "value": str(metadata["issuer"])},
                aud={"essential": True, "value": self.settings.client_id},
                exp={"essential": True},
                sub={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(token.claims)
        except (JoseError, ValueError) as error:
            raise OidcRefused(
                f"The ID token from {self.settings.name} is not valid: {_why(error)}."
            ) from error
        claims = dict(token.claims)
        audience = claims.get("aud")
        several = isinstance(audience, list) and len(audience) > 1
        if several and claims.get("azp") != self.settings.client_id:
            raise OidcRefused(
                f"The ID token from {self.settings.name} is not valid: it was issued to "
                "another application (azp)."
            )
        return claims

    def identity(self, claims: dict[str, Any]) -> Identity:
        """The person the claims name, with the role their roles claim maps to.

        Raises:
            OidcRefused: no value of the roles claim maps to a role (and no default).
        """
        name = next(
            (str(claims[c]) for c in self.settings.name_claims if claims.get(c)),
            str(claims.get("sub", "?")),
        )
        values = claims.get(self.settings.roles_claim) or []
        if isinstance(values, str):
            values = [values]
        role = self.settings.mapping.role_for([str(value) for value in values])
        if role is None:
            raise OidcRefused(
                f"{name} signed in with {self.settings.name}, but nothing in their "
                f"'{self.settings.roles_claim}' gives a role in this Orchestrator. Ask an admin."
            )
        return Identity(name, "oidc", role)


def _why(error: BaseException) -> str:
    """A JOSE error in words (its class name says which check failed)."""
    description = getattr(error, "description", "") or str(error)
    kind = type(error).__name__
    return f"{kind}: {description}" if description and description != kind else kind

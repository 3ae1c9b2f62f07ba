"""Bearer tokens for the HTTP API, and the record of every write made through it.

A token's secret is shown once, when it is created; only its SHA-256 is stored, so a
copy of the database gives no working token. Tokens are 256 random bits, so a plain
(unsalted) hash is enough and lets a request find its token by one indexed lookup.
"""

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from openorch.database import ApiAuditEntry, ApiScope, ApiToken
from openorch.database.base import table_of
from openorch.database.ids import new_id
from openorch.store import validation as v
from openorch.store.audit import api_write_entries
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput, Duplicate, NotFound

_TOKENS = table_of(ApiToken)

#: Every secret starts with this, so a leaked one is recognisable (secret scanners).
TOKEN_PREFIX = "oot_"

#: `last_used_at` is refreshed at most this often, so reads do not each cost a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(secret: str) -> str:
    """The SHA-256 (hex) stored for a token secret."""
    return hashlib.sha256(secret.encode("utf-8", errors="surrogatepass")).hexdigest()


def check_scopes(scopes: Iterable[ApiScope | str]) -> frozenset[ApiScope]:
    """At least one known scope.

    Raises:
        ValueError: none, or an unknown one.
    """
    if isinstance(scopes, str):
        scopes = [scopes]
    found = frozenset(v.check_enum(ApiScope, "scopes", scope) for scope in scopes)
    if not found:
        raise BadInput(
            "A token needs at least one scope: READ, RUN, QUEUE_WRITE, METRICS, REVIEW or AUDIT."
        )
    return found


class ApiTokenStore(StoreCore):
    """Creating, revoking and checking API tokens; the API's audit record."""

    def create_api_token(
        self,
        name: str,
        scopes: Iterable[ApiScope | str],
        expires_at: datetime | None = None,
    ) -> tuple[ApiToken, str]:
        """Create a token; returns it and its secret (the only time the secret exists).

        Raises:
            ValueError: empty or taken name, no or unknown scopes, expiry in the past.
        """
        text = v.check_text(ApiToken, "name", name, nonblank=True)
        assert text is not None
        found = check_scopes(scopes)
        expiry = v.check_datetime("expires_at", expires_at, required=False)
        now = datetime.now()
        if expiry is not None and expiry <= now:
            raise BadInput("expires_at must be in the future.")
        import secrets  # only when a token is made: the SDK never needs it

        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            id=new_id(),
            name=text.strip(),
            token_hash=hash_token(secret),
            scopes=",".join(sorted(scope.name for scope in found)),
            created_at=now,
            expires_at=expiry,
        )

        def work(session: Session) -> ApiToken:
            taken = session.scalar(
                select(func.count()).select_from(ApiToken).where(ApiToken.name == token.name)
            )
            if taken:
                raise Duplicate(f"A token named '{token.name}' already exists.")
            session.add(token)
            return token

        return self._write(work), secret

    def revoke_api_token(self, token_id: uuid.UUID | str) -> None:
        """Revoke a token at once (kept, so the audit record still names it).

        Raises:
            ValueError: bad id, or no such token.
        """
        key = v.check_uuid("token_id", token_id)

        def work(session: Session) -> None:
            result = session.execute(
                update(_TOKENS)
                .where(_TOKENS.c.id == key)
                .values(revoked_at=func.coalesce(_TOKENS.c.revoked_at, datetime.now()))
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"No API token with id {key} exists.")

        self._write(work)

    def get_api_tokens(self) -> tuple[ApiToken, ...]:
        """Every token (revoked ones too), by name."""
        statement = select(ApiToken).order_by(ApiToken.name)
        return self._read(lambda session: tuple(session.scalars(statement)))

    def authenticate_api_token(self, secret: str, now: datetime | None = None) -> ApiToken | None:
        """The active token with this secret; None when unknown, revoked or expired."""
        if not isinstance(secret, str) or not secret.startswith(TOKEN_PREFIX):
            return None
        if len(secret) > 200:
            return None
        moment = now or datetime.now()
        digest = hash_token(secret)
        token = self._read(
            lambda session: session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
        )
        if token is None or not token.is_active(moment):
            return None
        last = token.last_used_at
        if last is None or moment - last > LAST_USED_RESOLUTION:
            self._write(
                lambda session: session.execute(
                    update(_TOKENS).where(_TOKENS.c.id == token.id).values(last_used_at=moment)
                )
            )
        return token

    def record_api_write(
        self,
        token_name: str,
        action: str,
        detail: str | None,
        *,
        object_id: object = None,
        object_name: str | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a write made through the API: in the API's own record (details cut
        to the column's length) and in the audit trail (`store/audit.py`)."""
        rows = api_write_entries(
            token_name, action, detail, object_id=object_id, object_name=object_name, after=after
        )

        def work(session: Session) -> None:
            session.add_all(rows)

        self._write(work)

    def get_api_audit(
        self, offset: int = 0, limit: int = 100
    ) -> tuple[tuple[ApiAuditEntry, ...], int]:
        """A page of the audit record, newest first, and the total number of entries."""
        v.check_int("offset", offset, minimum=0)
        v.check_int("limit", limit, minimum=0)
        statement = (
            select(ApiAuditEntry)
            .order_by(ApiAuditEntry.time.desc(), ApiAuditEntry.id)
            .offset(offset)
            .limit(limit)
        )

        def work(session: Session) -> tuple[tuple[ApiAuditEntry, ...], int]:
            entries = tuple(session.scalars(statement))
            total = session.scalar(select(func.count()).select_from(ApiAuditEntry))
            return entries, int(total or 0)

        return self._read(work)

"""openorch's HTTP API tables: bearer tokens, the record of API writes, run requests.

The original OpenOrchestrator never reads these tables; they exist only on databases
upgraded by openorch.
"""

import enum
import uuid
from datetime import datetime

from sqlalchemy import Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base, enum_column_type
from openorch.database.ids import new_id


class ApiScope(enum.Enum):
    """What a token may do. The member name is stored (comma-separated)."""

    READ = "read"
    RUN = "run"
    QUEUE_WRITE = "queue-write"
    METRICS = "metrics"
    REVIEW = "review"
    #: Reading the audit trail (who did what); READ alone does not allow it.
    AUDIT = "audit"


class ApiToken(Base):
    """A bearer token for the HTTP API. Only the SHA-256 of the secret is stored."""

    __tablename__ = "ApiTokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=datetime.now)
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()

    @property
    def scope_set(self) -> frozenset[ApiScope]:
        """The scopes as enum members (unknown names are ignored)."""
        names = {part.strip() for part in (self.scopes or "").split(",")}
        return frozenset(scope for scope in ApiScope if scope.name in names)

    def is_active(self, now: datetime | None = None) -> bool:
        """Neither revoked nor expired."""
        moment = now or datetime.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > moment

    def __repr__(self) -> str:  # never the hash
        return f"ApiToken(name={self.name!r}, scopes={self.scopes!r})"


class ApiAuditEntry(Base):
    """One write made through the HTTP API: which token, what, when."""

    __tablename__ = "ApiAudit"
    __table_args__ = (Index("ix_ApiAudit_time", "time"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    time: Mapped[datetime] = mapped_column(default=datetime.now)
    token_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(String(1000))


class RunRequestStatus(enum.Enum):
    """Where a request to run a trigger now stands. The member name is stored."""

    PENDING = "Pending"
    STARTED = "Started"
    CANCELLED = "Cancelled"


class RunRequest(Base):
    """A request (from the HTTP API) to run a trigger now; a Scheduler begins it.

    `process_args` overrides the trigger's arguments for this run only (NULL: keep the
    trigger's). The job it started carries the same `correlation_id`.
    """

    __tablename__ = "RunRequests"
    __table_args__ = (
        Index("ix_RunRequests_status_requested_at", "status", "requested_at"),
        Index("ix_RunRequests_correlation_id", "correlation_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    trigger_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    process_args: Mapped[str | None] = mapped_column(String(1000))
    correlation_id: Mapped[str] = mapped_column(String(100))
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(default=datetime.now)
    status: Mapped[RunRequestStatus] = mapped_column(
        enum_column_type(RunRequestStatus), default=RunRequestStatus.PENDING
    )
    started_at: Mapped[datetime | None] = mapped_column()
    scheduler_name: Mapped[str | None] = mapped_column(String(100))
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    message: Mapped[str | None] = mapped_column(String(1000))

    def __repr__(self) -> str:
        return f"RunRequest(id={self.id}, status={self.status.name})"

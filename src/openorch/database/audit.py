"""The audit trail: one row per write made in the Orchestrator or through the HTTP API,
naming who made it, what it was, which object it touched and what the object looked
like before and after (secrets masked). docs/security.md, "Who did what".

The original OpenOrchestrator never reads this table; it exists only on databases
upgraded by openorch.
"""

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from openorch.database.base import Base
from openorch.database.ids import new_id


class AuditEntry(Base):
    """One write: who (`actor`, how they signed in, their role), what (`action`, e.g.
    "trigger.pause"), which object (`object_kind`, `object_id`, `object_name`), the
    object before and after as JSON (secrets masked), when (`at`, UTC) and through
    what (`source`: "orchestrator" or "api")."""

    __tablename__ = "Audit_Trail"
    __table_args__ = (
        Index("ix_Audit_Trail_at", "at"),
        Index("ix_Audit_Trail_object", "object_kind", "object_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    #: When, in UTC (naive), whatever the time zone of the machine that wrote it.
    at: Mapped[datetime] = mapped_column()
    #: Who, as the page names them: "anna (oidc)", "admin (token)", "api:crm".
    actor: Mapped[str] = mapped_column(String(200))
    #: How they signed in: token, oidc, ldap (Orchestrator) or api-token (HTTP API).
    actor_method: Mapped[str] = mapped_column(String(20))
    #: Their role when they acted (None for an API token: its scopes decide).
    actor_role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(100))
    object_kind: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(200))
    object_name: Mapped[str | None] = mapped_column(String(400))
    #: One line saying what happened, fit to show ("3 elements retried").
    summary: Mapped[str | None] = mapped_column(String(1000))
    #: The object before the write / after it, as a JSON object with secrets masked.
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))

    def __repr__(self) -> str:
        return f"AuditEntry(actor={self.actor!r}, action={self.action!r})"

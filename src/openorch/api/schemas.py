"""The request and response bodies of the HTTP API (they make its OpenAPI schema).

Request bodies forbid unknown fields, so a typo is a 422 naming the field instead of a
silently ignored setting. Responses never carry a token, its hash, a credential, a
connection string or a trigger's process path/arguments (they may embed secrets).
"""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

#: At most this many elements per bulk request.
MAX_BULK_ELEMENTS = 1000

#: At most this many rows per page.
MAX_PAGE = 500


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunBody(_Input):
    """Run a trigger now."""

    process_args: str | None = Field(
        None,
        max_length=1000,
        description="Arguments for this run only, instead of the trigger's (omit: keep them).",
    )
    correlation_id: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:/+=@#-]+$",
        description="Your id for this run (letters, digits, -_.:/+=@#); default: the run id.",
    )


class ElementBody(_Input):
    """One queue element to add."""

    reference: str | None = Field(None, max_length=100)
    data: Any = Field(
        None,
        description="A string, stored as is, or any JSON value, stored as JSON text "
        "(at most 2000 characters either way).",
    )
    created_by: str | None = Field(
        None,
        max_length=100,
        description="Ignored for the element: it is always created by api:<token name>. "
        "A different value is noted in the API audit record.",
    )


class BulkItem(_Input):
    """One element of a bulk add."""

    reference: str | None = Field(None, max_length=100)
    data: Any = None


class BulkBody(_Input):
    """Elements to add to one queue, all or nothing."""

    elements: list[BulkItem] = Field(..., min_length=1, max_length=MAX_BULK_ELEMENTS)
    created_by: str | None = Field(
        None,
        max_length=100,
        description="Ignored for the elements: they are always created by "
        "api:<token name>. A different value is noted in the API audit record.",
    )


class LogOut(BaseModel):
    """One log line of a job."""

    time: datetime
    level: str
    message: str


class JobOut(BaseModel):
    """A process run and what it reported."""

    id: UUID
    process_name: str
    scheduler_name: str
    status: str
    start_time: datetime
    end_time: datetime | None
    duration_seconds: float | None
    trigger_id: UUID | None
    correlation_id: str | None
    outcome: Literal["COMPLETED", "FAILED"] | None
    outcome_message: str | None
    outcome_data: Any = None
    outcome_time: datetime | None
    logs: list[LogOut] | None = Field(None, description="Only when reading one job.")


class JobPage(BaseModel):
    """A page of jobs."""

    items: list[JobOut]
    total: int
    offset: int
    limit: int


class RunOut(BaseModel):
    """A requested run: PENDING until a Scheduler starts it, then its job's status."""

    id: UUID
    trigger_id: UUID
    correlation_id: str
    state: str = Field(description="PENDING, then the job's status: RUNNING, DONE, FAILED…")
    requested_by: str
    requested_at: datetime
    arguments_overridden: bool
    started_at: datetime | None
    scheduler_name: str | None
    job: JobOut | None
    links: dict[str, str]


class TriggerOut(BaseModel):
    """A trigger, without its process path and arguments (they may hold secrets)."""

    id: UUID
    name: str
    type: Literal["SINGLE", "SCHEDULED", "QUEUE"]
    process_name: str
    status: str
    last_run: datetime | None
    next_run: datetime | None
    cron_expr: str | None
    queue_name: str | None
    min_batch_size: int | None
    is_blocking: bool
    priority: int
    scheduler_whitelist: list[str]
    has_process_args: bool


class NextRunOut(BaseModel):
    """One coming run."""

    time: datetime = Field(description="in the trigger's time zone (or the server's), with offset")
    server_time: datetime = Field(description="the server's local time, as `next_run` is stored")


class NextRunsOut(BaseModel):
    """A trigger's coming runs, computed as a Scheduler will (zone, DST, calendar)."""

    trigger_id: UUID
    time_zone: str | None = Field(description="IANA zone; null: the server's local time")
    calendar_id: UUID | None
    calendar_rule: str | None = Field(description="SKIP, MOVE or WORKING_DAYS")
    runs: list[NextRunOut]
    note: str | None = Field(description="why there are fewer runs than asked, if there are")


class ElementOut(BaseModel):
    """A queue element."""

    id: UUID
    queue_name: str
    status: str
    reference: str | None
    data: str | None
    message: str | None
    created_by: str | None
    created_date: datetime
    start_date: datetime | None
    end_date: datetime | None


class BulkOut(BaseModel):
    """How many elements a bulk add created."""

    queue_name: str
    created: int


class QueueCounts(BaseModel):
    """How many elements of a queue are in each status."""

    queue_name: str
    counts: dict[str, int]
    total: int


class SchedulerOut(BaseModel):
    """A Scheduler and whether its heartbeat is recent."""

    name: str
    last_update: datetime
    alive: bool
    latest_trigger: str | None
    latest_trigger_time: datetime | None


class DatabaseHealth(BaseModel):
    """The database as the API sees it."""

    reachable: bool
    revision: str | None
    expected_revision: str
    error: str | None = None


class HealthStatusOut(BaseModel):
    """Health without a token: the status alone (no revision, no error text)."""

    status: Literal["ok", "degraded", "unavailable"]


class HealthOut(BaseModel):
    """Health of the API and what it depends on (for a token with READ)."""

    status: Literal["ok", "degraded", "unavailable"]
    database: DatabaseHealth
    live_schedulers: int | None


class AuditOut(BaseModel):
    """One write in the audit trail: who, what, which object, before and after (secrets
    were masked when it was recorded), when (UTC)."""

    id: UUID
    at: datetime = Field(description="When, in UTC.")
    actor: str = Field(description='"anna (oidc)", "admin (token)", or "api:<token name>".')
    actor_method: str = Field(description="token, oidc, ldap, or api-token.")
    actor_role: str | None
    action: str = Field(description='e.g. "trigger.pause", "credential.update".')
    object_kind: str
    object_id: str | None
    object_name: str | None
    summary: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    source: Literal["orchestrator", "api"]


class AuditPage(BaseModel):
    """A page of the audit trail."""

    items: list[AuditOut]
    total: int
    offset: int
    limit: int


class ErrorOut(BaseModel):
    """Every error answer: a message saying what to fix."""

    detail: str


#: The error answers every authenticated endpoint may give, for the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing, unknown, revoked or expired token"},
    403: {"model": ErrorOut, "description": "The token lacks the scope"},
    404: {"model": ErrorOut, "description": "No such object"},
    413: {"model": ErrorOut, "description": "The body is over the size limit"},
    422: {"model": ErrorOut, "description": "Bad input; nothing was written"},
    503: {"model": ErrorOut, "description": "The database is not reachable"},
}

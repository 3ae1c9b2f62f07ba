"""The audit trail: who did what, to which object, before and after, and when.

Every write made in the Orchestrator (through `orchestrator/audited_store.py`) and every
write made through the HTTP API (through `api_write_entries` below) adds one row to
`Audit_Trail`. The before/after snapshots are JSON objects built here by `snapshot`,
the one place that decides what of a row may be written down: credential passwords and
token hashes never, webhook URLs only as their host, every other text through `mask`
(connection strings, URLs with passwords, `password=` pairs).
"""

import enum
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, inspect, or_, select
from sqlalchemy.orm import Session

from openorch.database import AlertChannel, ApiAuditEntry, AuditEntry
from openorch.database.ids import new_id
from openorch.masking import HIDDEN, mask, mask_url
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput, NotFound
from openorch.store.paging import page_statement, read_page

#: Where a write came from.
SOURCES = ("orchestrator", "api")

#: How an API token is named as the actor of the writes made with it.
API_ACTOR_PREFIX = "api:"
#: The `actor_method` of API writes (people sign in with token, oidc or ldap).
API_METHOD = "api-token"

#: Columns whose value is a secret wherever they appear: written as `***` when set.
_SECRET_WORDS = ("password", "secret", "pwd")
#: Columns left out of a snapshot altogether (a hash of a secret, binary data).
_LEFT_OUT = ("token_hash", "attachment")

#: What the HTTP API's record calls its writes, as audit actions and object kinds.
API_ACTIONS: Mapping[str, tuple[str, str]] = {
    "add queue element": ("queue_element.create", "queue_element"),
    "add queue elements": ("queue_element.bulk_create", "queue"),
    "run trigger": ("trigger.run", "trigger"),
    "cancel run": ("run.cancel", "run"),
}

#: The sort keys `get_audit` accepts.
_SORT_COLUMNS: Mapping[str, Any] = {
    "at": AuditEntry.at,
    "actor": AuditEntry.actor,
    "action": AuditEntry.action,
    "object_kind": AuditEntry.object_kind,
    "object_name": AuditEntry.object_name,
    "source": AuditEntry.source,
}


def utc_now() -> datetime:
    """Now in UTC, naive (how `Audit_Trail.at` is stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _is_secret(column: str) -> bool:
    lowered = column.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def plain(value: Any) -> Any:
    """`value` as JSON can hold it, every text masked."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return _json_masked(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, Mapping):
        return {str(key): masked_value(str(key), item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(item) for item in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return mask(str(value))


#: Longest text `plain` looks into as JSON (queue element data is at most 2000 characters).
_JSON_LIMIT = 100_000


def _json_masked(text: str) -> Any:
    """A text holding a JSON object or array (queue element data) as that value with its
    secret fields hidden (`{"password": "x"}` is no `password=` pair `mask` would see);
    any other text masked."""
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and len(stripped) <= _JSON_LIMIT:
        try:
            parsed = json.loads(stripped)
        except (ValueError, RecursionError):
            return mask(text)
        if isinstance(parsed, dict | list):
            return plain(parsed)
    return mask(text)


def masked_value(key: str, value: Any) -> Any:
    """The value of field `key` fit for the trail: a secret field only says it is set."""
    if _is_secret(key):
        return HIDDEN if value else value
    return plain(value)


def snapshot(row: Any, **extra: Any) -> dict[str, Any] | None:
    """An ORM row (or a mapping) as the JSON object the trail keeps: every column, with
    passwords hidden, hashes and binary data left out and every text masked. `extra`
    adds or replaces fields (masked the same way). None for None."""
    if row is None:
        return None
    if isinstance(row, Mapping):
        fields: dict[str, Any] = dict(row)
    else:
        state = inspect(row, raiseerr=False)
        if state is None or not hasattr(state, "mapper"):
            raise TypeError(f"cannot snapshot {type(row).__name__}")
        fields = {
            attribute.key: getattr(row, attribute.key)
            for attribute in state.mapper.column_attrs
            if attribute.key not in _LEFT_OUT
        }
    fields.update(extra)
    return {key: masked_value(key, value) for key, value in fields.items() if key not in _LEFT_OUT}


def to_json(value: Mapping[str, Any] | None) -> str | None:
    """A snapshot as stored (None stays None)."""
    if value is None:
        return None
    return json.dumps(plain(value), ensure_ascii=False, sort_keys=True)


def _cut(model_field: str, text: str | None) -> str | None:
    if text is None:
        return None
    return text[: v.column_length(AuditEntry, model_field)]


def new_entry(
    *,
    actor: str,
    actor_method: str,
    actor_role: str | None,
    action: str,
    object_kind: str,
    object_id: object = None,
    object_name: str | None = None,
    summary: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    source: str = "orchestrator",
    at: datetime | None = None,
) -> AuditEntry:
    """One audit row, checked and masked (not yet added to a session).

    Raises:
        BadInput: an empty actor, action or kind, or an unknown source.
    """
    for field, value in (("actor", actor), ("action", action), ("object_kind", object_kind)):
        if not isinstance(value, str) or not value.strip():
            raise BadInput(f"An audit entry needs {field}.")
    if source not in SOURCES:
        raise BadInput(f"source must be one of {', '.join(SOURCES)}; got {source!r}.")
    return AuditEntry(
        id=new_id(),
        at=at or utc_now(),
        actor=_cut("actor", mask(actor)),
        actor_method=_cut("actor_method", actor_method),
        actor_role=_cut("actor_role", actor_role),
        action=_cut("action", action),
        object_kind=_cut("object_kind", object_kind),
        object_id=_cut("object_id", None if object_id is None else mask(str(object_id))),
        object_name=_cut("object_name", None if object_name is None else mask(object_name)),
        summary=_cut("summary", None if summary is None else mask(summary)),
        before=to_json(before),
        after=to_json(after),
        source=source,
    )


def api_write_entries(
    token_name: str,
    action: str,
    detail: str | None,
    *,
    object_id: object = None,
    object_name: str | None = None,
    after: Mapping[str, Any] | None = None,
    moment: datetime | None = None,
) -> tuple[ApiAuditEntry, AuditEntry]:
    """The two rows one HTTP API write leaves: the API's own record (the API tab's
    "Writes through the API", as before) and the audit trail's row, actor
    "api:<token name>". The one place every API write is recorded."""
    audit_action, kind = API_ACTIONS.get(action, (action.replace(" ", "_"), "api"))
    api_entry = ApiAuditEntry(
        id=new_id(),
        time=moment or datetime.now(),
        token_name=token_name[:100],
        action=action[:100],
        detail=None if detail is None else detail[: v.column_length(ApiAuditEntry, "detail")],
    )
    entry = new_entry(
        actor=API_ACTOR_PREFIX + token_name,
        actor_method=API_METHOD,
        actor_role=None,
        action=audit_action,
        object_kind=kind,
        object_id=object_id,
        object_name=object_name,
        summary=detail,
        after=after,
        source="api",
    )
    return api_entry, entry


class AuditStore(StoreCore):
    """Recording writes in the audit trail and reading it back, paged and filtered."""

    def audit_snapshot(self, row: Any, **extra: Any) -> dict[str, Any] | None:
        """`snapshot(row)`, with an alert channel's webhook URL shown as its host only
        (the path is the secret; without the key it is just "***")."""
        if isinstance(row, AlertChannel) and row.webhook_url:
            try:
                url = mask_url(self.cipher.decrypt(row.webhook_url))
            except ValueError:  # no key or another key: the ciphertext says nothing
                url = HIDDEN
            return snapshot(row, **{"webhook_url": url, **extra})
        return snapshot(row, **extra)

    def record_audit(
        self,
        *,
        actor: str,
        actor_method: str,
        actor_role: str | None,
        action: str,
        object_kind: str,
        object_id: object = None,
        object_name: str | None = None,
        summary: str | None = None,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
        source: str = "orchestrator",
    ) -> AuditEntry:
        """Add one row to the audit trail (texts masked, cut to their columns).

        Raises:
            BadInput: an empty actor, action or kind, or an unknown source.
        """
        entry = new_entry(
            actor=actor,
            actor_method=actor_method,
            actor_role=actor_role,
            action=action,
            object_kind=object_kind,
            object_id=object_id,
            object_name=object_name,
            summary=summary,
            before=before,
            after=after,
            source=source,
        )

        def work(session: Session) -> AuditEntry:
            session.add(entry)
            return entry

        return self._write(work)

    def get_audit(
        self,
        offset: int = 0,
        limit: int | None = 100,
        *,
        actor: str | None = None,
        action: str | None = None,
        object_kind: str | None = None,
        object_text: str | None = None,
        source: str | None = None,
        from_time: datetime | None = None,
        to_time: datetime | None = None,
        text: str | None = None,
        order_by: str | None = "at",
        order_desc: bool = True,
    ) -> tuple[tuple[AuditEntry, ...], int]:
        """A page of the trail and how many rows match, newest first by default.

        `actor`, `action`, `object_kind` and `source` match exactly; `object_text`
        finds text in the object's id or name, `text` in the actor, action, object or
        summary (both ignoring case); `from_time`/`to_time` (UTC) bound `at`,
        inclusive.

        Raises:
            BadInput: a negative offset or limit, an unknown sort key or source, or a
                time that is not a datetime.
        """
        filters: list[ColumnElement[bool]] = []
        for column, wanted in (
            (AuditEntry.actor, actor),
            (AuditEntry.action, action),
            (AuditEntry.object_kind, object_kind),
            (AuditEntry.source, source),
        ):
            if wanted is not None and wanted != "":
                filters.append(column == str(wanted))
        if source not in (None, "") and source not in SOURCES:
            raise BadInput(f"source must be one of {', '.join(SOURCES)}; got {source!r}.")
        start = v.check_datetime("from_time", from_time, required=False)
        end = v.check_datetime("to_time", to_time, required=False)
        if start is not None:
            filters.append(AuditEntry.at >= start)
        if end is not None:
            filters.append(AuditEntry.at <= end)
        if object_text:
            filters.append(
                or_(
                    AuditEntry.object_id.icontains(object_text, autoescape=True),
                    AuditEntry.object_name.icontains(object_text, autoescape=True),
                )
            )
        if text:
            filters.append(
                or_(
                    *(
                        column.icontains(text, autoescape=True)
                        for column in (
                            AuditEntry.actor,
                            AuditEntry.action,
                            AuditEntry.object_id,
                            AuditEntry.object_name,
                            AuditEntry.summary,
                        )
                    )
                )
            )
        statement = page_statement(
            AuditEntry,
            filters,
            columns=_SORT_COLUMNS,
            default="at",
            order_by=order_by,
            order_desc=order_desc,
            offset=offset,
            limit=limit,
            tiebreak=AuditEntry.id.desc() if order_desc else AuditEntry.id,
        )

        def work(session: Session) -> tuple[tuple[AuditEntry, ...], int]:
            page = read_page(session, statement, AuditEntry, filters, True)
            assert isinstance(page[1], int)
            return page

        return self._read(work)

    def get_audit_entry(self, entry_id: uuid.UUID | str) -> AuditEntry:
        """One row of the trail.

        Raises:
            ValueError: bad id, or no such row.
        """
        key = v.check_uuid("entry_id", entry_id)
        entry = self._read(lambda session: session.get(AuditEntry, key))
        if entry is None:
            raise NotFound(f"No audit entry with id {key} exists.")
        return entry

    def get_audit_choices(self) -> dict[str, tuple[str, ...]]:
        """The actors, actions and object kinds the trail holds, sorted (the Audit
        tab's filter choices)."""

        def work(session: Session) -> dict[str, tuple[str, ...]]:
            return {
                name: tuple(
                    str(value)
                    for value in session.scalars(select(column).distinct().order_by(column))
                )
                for name, column in (
                    ("actor", AuditEntry.actor),
                    ("action", AuditEntry.action),
                    ("object_kind", AuditEntry.object_kind),
                )
            }

        return self._read(work)

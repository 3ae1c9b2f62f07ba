"""Per-queue settings: attempts, retry delay, unique references, default deadline.

A queue exists by name only (as in the original); a `Queue_Settings` row is optional and
a queue without one has the defaults of `default_settings`. The module-level functions
take an open Core `Connection`, so the release of a job's elements, a retry and the
creation of elements read the settings inside their own transaction.
"""

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, exc, select, update
from sqlalchemy.orm import Session

from openorch.database import QueueElement, QueueSettings
from openorch.database.base import table_of
from openorch.store import validation as v
from openorch.store.core import StoreCore
from openorch.store.errors import BadInput

_SETTINGS = table_of(QueueSettings)
_QUEUES = table_of(QueueElement)

#: Upper bounds that keep the values meaningful (and inside a 32-bit column).
MAX_ATTEMPTS_LIMIT = 1000
MAX_DELAY_SECONDS = 366 * 24 * 3600
MAX_DEADLINE_SECONDS = 10 * 366 * 24 * 3600


def default_settings(queue_name: str) -> QueueSettings:
    """The settings of a queue that has no row: one attempt, references not unique."""
    return QueueSettings(
        queue_name=queue_name,
        max_attempts=1,
        retry_delay_seconds=0,
        unique_references=False,
        default_deadline_seconds=None,
        description=None,
        review_business=None,
        review_exhausted=None,
    )


def read_settings(connection: Connection, queue_name: str) -> QueueSettings:
    """The settings of `queue_name` (the defaults when it has no row)."""
    row = connection.execute(select(_SETTINGS).where(_SETTINGS.c.queue_name == queue_name)).first()
    if row is None:
        return default_settings(queue_name)
    return QueueSettings(**row._mapping)


def deadline_of(settings: QueueSettings) -> timedelta | None:
    """The default deadline as a duration after creation (None: no deadline)."""
    seconds = settings.default_deadline_seconds
    return None if seconds is None else timedelta(seconds=seconds)


def _check_seconds(field: str, value: Any, minimum: int, maximum: int) -> int:
    if isinstance(value, timedelta):
        value = int(value.total_seconds())
    seconds = v.check_int(field, value, minimum=minimum)
    if seconds > maximum:
        raise BadInput(f"{field} must be at most {maximum} s; got {seconds}.")
    return seconds


class QueueSettingsStore(StoreCore):
    """Reading and writing `Queue_Settings`."""

    def get_queue_settings(self, queue_name: str) -> QueueSettings:
        """The settings of a queue; a queue never configured gets the defaults
        (max_attempts 1, retry_delay_seconds 0, unique_references False, no deadline).

        Raises:
            ValueError: bad queue name.
        """
        name = v.check_text(QueueElement, "queue_name", queue_name)
        assert name is not None
        with self.engine.connect() as connection:
            return read_settings(connection, name)

    def get_all_queue_settings(self) -> dict[str, QueueSettings]:
        """Every configured queue's settings, by queue name."""
        return self._read(
            lambda session: {
                settings.queue_name: settings
                for settings in session.scalars(
                    select(QueueSettings).order_by(QueueSettings.queue_name)
                )
            }
        )

    def set_queue_settings(
        self,
        queue_name: str,
        *,
        max_attempts: int = 1,
        retry_delay_seconds: int | timedelta = 0,
        unique_references: bool = False,
        default_deadline_seconds: int | timedelta | None = None,
        description: str | None = None,
        review_business: bool = True,
        review_exhausted: bool = False,
    ) -> QueueSettings:
        """Replace a queue's settings (every field; read them first to change one).

        `review_business` sends business failures to the review inbox; `review_exhausted`
        sends application failures whose attempts are used up there too (store/queues/review.py).

        `max_attempts` counts every attempt, the first included: 3 means an element whose
        job ends without finishing it goes back to NEW twice, then is ABANDONED.
        Turning unique references on copies the references of the queue's existing
        elements into the unique index, and is refused (nothing changed) when two
        elements already share a reference.

        Raises:
            ValueError: a bad value, or existing duplicate references (named).
        """
        queue_name = v.check_text(QueueSettings, "queue_name", queue_name)  # type: ignore[assignment]
        values: dict[str, Any] = {
            "max_attempts": v.check_int("max_attempts", max_attempts, minimum=1),
            "retry_delay_seconds": _check_seconds(
                "retry_delay_seconds", retry_delay_seconds, 0, MAX_DELAY_SECONDS
            ),
            "unique_references": v.check_bool("unique_references", unique_references),
            "default_deadline_seconds": None
            if default_deadline_seconds is None
            else _check_seconds(
                "default_deadline_seconds", default_deadline_seconds, 1, MAX_DEADLINE_SECONDS
            ),
            "description": v.check_text(QueueSettings, "description", description, required=False),
            "review_business": v.check_bool("review_business", review_business),
            "review_exhausted": v.check_bool("review_exhausted", review_exhausted),
        }
        if values["max_attempts"] > MAX_ATTEMPTS_LIMIT:
            raise BadInput(
                f"max_attempts must be at most {MAX_ATTEMPTS_LIMIT}; got {max_attempts}."
            )

        def work(session: Session) -> QueueSettings:
            connection = session.connection()
            result = connection.execute(
                update(_SETTINGS).where(_SETTINGS.c.queue_name == queue_name).values(**values)
            )
            if result.rowcount == 0:
                session.add(QueueSettings(queue_name=queue_name, **values))
                session.flush()
            unique = _QUEUES.c.unique_reference
            if values["unique_references"]:
                _refuse_existing_duplicates(connection, queue_name)
                connection.execute(
                    update(_QUEUES)
                    .where(
                        _QUEUES.c.queue_name == queue_name,
                        _QUEUES.c.reference.is_not(None),
                        unique.is_(None),
                    )
                    .values(unique_reference=_QUEUES.c.reference)
                )
            else:
                connection.execute(
                    update(_QUEUES)
                    .where(_QUEUES.c.queue_name == queue_name, unique.is_not(None))
                    .values(unique_reference=None)
                )
            return QueueSettings(queue_name=queue_name, **values)

        try:
            return self._write(work)
        except exc.IntegrityError as error:
            if "unique_reference" not in str(error):
                raise
            # An element with a duplicate reference arrived during the check.
            return self.set_queue_settings(
                queue_name,
                max_attempts=max_attempts,
                retry_delay_seconds=retry_delay_seconds,
                unique_references=unique_references,
                default_deadline_seconds=default_deadline_seconds,
                description=description,
                review_business=review_business,
                review_exhausted=review_exhausted,
            )


def _refuse_existing_duplicates(connection: Connection, queue_name: str) -> None:
    # Lazy: only switching unique references on needs it (start-up time).
    from sqlalchemy import func

    duplicates = list(
        connection.execute(
            select(_QUEUES.c.reference)
            .where(_QUEUES.c.queue_name == queue_name, _QUEUES.c.reference.is_not(None))
            .group_by(_QUEUES.c.reference)
            .having(func.count() > 1)
            .order_by(_QUEUES.c.reference)
            .limit(11)
        ).scalars()
    )
    if duplicates:
        shown = ", ".join(repr(reference) for reference in duplicates[:10])
        more = " and more" if len(duplicates) > 10 else ""
        raise BadInput(
            f"Queue {queue_name!r} cannot get unique references: these references are used "
            f"by more than one element already: {shown}{more}. Delete or change those "
            "elements first."
        )

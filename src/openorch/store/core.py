"""Session handling shared by every part of the data layer."""

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine, exc, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from openorch.store.engine import IMMEDIATE, build_engine
from openorch.store.errors import BadInput, NoKey
from openorch.store.keys import Cipher
from openorch.store.revision import Revisions, read_revisions

T = TypeVar("T")

#: Newest revision of openorch's own migration chain (version table `openorch_version`,
#: see store/revision.py) this version writes and expects. Bump it with every migration.
HEAD_REVISION = "0d22a1e5c001"

#: The original OpenOrchestrator 3.0.0's newest revision.
ORIGINAL_HEAD_REVISION = "1c87ed320c78"

#: For how long a write is retried when SQLite reports the file locked, in seconds.
LOCK_RETRY_SECONDS = 60.0


def _is_sqlite_locked(error: exc.OperationalError) -> bool:
    message = str(error.orig).lower()
    return "database is locked" in message or "database table is locked" in message


class StoreCore:
    """Owns the engine and the sessions; every query in openorch runs through here.

    Built from a connection string (the store creates and later disposes the engine)
    or from an existing `Engine` (the caller keeps ownership; `close()` leaves it open).
    """

    def __init__(self, database: str | URL | Engine, crypto_key: str | bytes | None = None) -> None:
        if isinstance(database, Engine):
            self.engine = database
            self._owns_engine = False
        else:
            self.engine = build_engine(database)
            self._owns_engine = True
        self._write_engine = self.engine.execution_options(**{IMMEDIATE: True})
        # Single-statement writes need no transaction around them on PostgreSQL: in
        # autocommit mode they cost one round trip instead of BEGIN + statement + COMMIT.
        self._single_engine = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.engine.dialect.name == "postgresql"
            else self._write_engine
        )
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self._write_engine, expire_on_commit=False)
        self._cipher: Cipher | None = Cipher(crypto_key) if crypto_key is not None else None
        #: Why the key given to `set_key(..., check_now=False)` cannot be used (None: fine).
        self._key_problem: str | None = None
        #: What `Store.open` found worth telling the user (revision, key); empty otherwise.
        self.open_warnings: list[str] = []

    @property
    def dialect(self) -> str:
        """The database backend: 'sqlite', 'postgresql' or 'mssql'."""
        return self.engine.dialect.name

    def set_key(self, crypto_key: str | bytes | None, *, check_now: bool = True) -> None:
        """Use another encryption key for credentials (None forgets the key).

        `check_now=False` takes any key as OpenOrchestrator 3.0.0's processes did, and
        says what is wrong with it when a credential is first read or written: an empty
        key is no key (`NoKey`), a malformed one fails with the message it would fail
        with now. Scripts run by hand with a dummy key, which only log, read constants
        or work queues, keep working.

        Raises:
            ValueError: (only when checking now) the key is not a Fernet key.
        """
        self._key_problem = None
        if not check_now and not crypto_key:
            self._cipher = None
            return
        try:
            self._cipher = Cipher(crypto_key) if crypto_key is not None else None
        except BadInput as problem:
            if check_now:
                raise
            self._cipher, self._key_problem = None, problem.message

    @property
    def cipher(self) -> Cipher:
        """The cipher for credential passwords.

        Raises:
            NoKey: when no key was given (a ValueError and a RuntimeError).
            BadInput: the key given with `set_key(..., check_now=False)` is malformed.
        """
        if self._key_problem is not None:
            raise BadInput(self._key_problem)
        if self._cipher is None:
            raise NoKey("No encryption key is set: credentials cannot be read or written.")
        return self._cipher

    def close(self) -> None:
        """Release pooled connections; disposes the engine only if this store made it."""
        if self._owns_engine:
            self.engine.dispose()

    def ping(self) -> None:
        """Run a trivial query; raises the driver's error when the database is unreachable."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def revisions(self) -> Revisions:
        """What both version tables hold (the original's and openorch's chain)."""
        with self.engine.connect() as connection:
            return read_revisions(connection)

    def current_revision(self) -> str | None:
        """The revision to show: openorch's chain's, else the original's (None: neither)."""
        return self.revisions().current

    def check_database_revision(self) -> bool:
        """True when openorch's chain is at the revision this version expects."""
        return self.revisions().openorch == HEAD_REVISION

    def _read(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a read transaction and return its (detached) result."""
        with self._reads() as session:
            return work(session)

    def _write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction, committed when it returns.

        On SQLite the transaction takes the write lock at BEGIN, and "database is
        locked" is retried here for up to LOCK_RETRY_SECONDS so no caller sees it.
        """

        def in_session() -> T:
            with self._writes.begin() as session:
                return work(session)

        return self._retry_locked(in_session)

    def _write_core(self, work: Callable[[Connection], T]) -> T:
        """Like `_write`, on a bare Core connection: for the hot paths (claiming an
        element, logging) where a Session's unit of work is pure overhead."""

        def in_connection() -> T:
            with self._write_engine.begin() as connection:
                return work(connection)

        return self._retry_locked(in_connection)

    def _write_single(self, work: Callable[[Connection], T]) -> T:
        """Like `_write_core` for `work` that runs exactly one statement, which is atomic
        by itself: on PostgreSQL it runs in autocommit mode (one round trip)."""

        def in_connection() -> T:
            with self._single_engine.begin() as connection:
                return work(connection)

        return self._retry_locked(in_connection)

    def _retry_locked(self, attempt: Callable[[], T]) -> T:
        deadline = time.monotonic() + LOCK_RETRY_SECONDS
        delay = 0.005
        while True:
            try:
                return attempt()
            except exc.OperationalError as error:
                if self.dialect != "sqlite" or not _is_sqlite_locked(error):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.2)

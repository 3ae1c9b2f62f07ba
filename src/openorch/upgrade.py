"""`openorch upgrade CONN [--new] [--yes]`: create or migrate a database.

Prints the revision before and after. A bad connection string or an unreachable server
gives one line on stderr and exit code 2, never a traceback.
"""

import sys
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from openorch import migrate
from openorch.store import HEAD_REVISION, ConnectError, Store, mask

Ask = Callable[[str], str]


def _error(message: str) -> None:
    print(f"openorch upgrade: error: {message}", file=sys.stderr)


def run_upgrade(conn: str, *, new: bool = False, yes: bool = False, ask: Ask = input) -> int:
    """Bring the database at `conn` to openorch's newest revision. Returns the exit code."""
    try:
        store = Store.open(conn, need_tables=False)
    except ConnectError as error:
        _error(str(error).replace("\n", " "))
        return 2
    engine = store.engine
    try:
        return _upgrade(engine, conn, new=new, yes=yes, ask=ask)
    except (SQLAlchemyError, RuntimeError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        _error(f"the migration failed and was rolled back where the database allows: {first_line}")
        return 1
    except EOFError:
        _error("no answer given; nothing was changed.")
        return 1
    finally:
        store.close()


def _upgrade(engine: Engine, conn: str, *, new: bool, yes: bool, ask: Ask) -> int:
    found = migrate.revisions(engine)
    before = found.current
    chain = migrate.revision_chain()
    print(f"Database: {mask(conn)}")
    print(f"Revision before: {before or 'none'}")
    if found.openorch == HEAD_REVISION:
        print(f"Already at the newest revision ({HEAD_REVISION}); nothing to do.")
        return 0
    if before is not None and before not in chain:
        _error(
            f"the database is at revision {before}, which this version of openorch does not "
            "know (was it upgraded by a newer version?). Nothing was changed."
        )
        return 2

    stamp_first: str | None = None
    if before is None and migrate.has_tables(engine):
        detected = migrate.detect_revision(engine)
        if new:
            stamp_first = detected
        else:
            default = "legacy" if detected == migrate.LEGACY_REVISION else "new"
            answer = (
                default
                if yes
                else ask(
                    "The database has tables but no revision. Is it new (made by a recent "
                    f"OpenOrchestrator) or legacy (from before migrations)? [new/legacy] "
                    f"(default {default}): "
                )
                .strip()
                .lower()
                or default
            )
            if answer not in ("new", "legacy"):
                _error(f"answer 'new' or 'legacy', not {answer!r}. Nothing was changed.")
                return 1
            stamp_first = migrate.LEGACY_REVISION if answer == "legacy" else detected
        print(f"Treating the existing tables as revision {stamp_first}.")

    if not (new or yes):
        target = (
            "create the openorch tables in" if before is None and stamp_first is None else "upgrade"
        )
        reply = ask(
            f"This will {target} {mask(conn)} (to revision {HEAD_REVISION}). Continue? [y/N] "
        )
        if reply.strip().lower() not in ("y", "yes"):
            print("Nothing was changed.")
            return 1

    if stamp_first is not None:
        migrate.stamp(engine, stamp_first)
    migrate.upgrade(engine)
    after = migrate.revisions(engine)
    print(f"Revision after: {after.current}")
    print(f"OpenOrchestrator's revision (alembic_version): {after.original}")
    return 0

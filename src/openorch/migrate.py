"""Creating and upgrading databases: `openorch.store.migrate`, under the name the CLI, the
tests and the docs have always used. The code moved into the data layer, which needs it
(local mode's first open, `openorch copy`); while it lived here, store and this module
imported each other."""

from openorch.store.migrate import (
    LEGACY_REVISION,
    OPENORCH,
    ORIGINAL,
    Chain,
    alembic_config,
    current_revision,
    detect_revision,
    ensure_current,
    has_tables,
    revision_chain,
    revisions,
    script_location,
    stamp,
    upgrade,
)

__all__ = [
    "LEGACY_REVISION",
    "OPENORCH",
    "ORIGINAL",
    "Chain",
    "alembic_config",
    "current_revision",
    "detect_revision",
    "ensure_current",
    "has_tables",
    "revision_chain",
    "revisions",
    "script_location",
    "stamp",
    "upgrade",
]

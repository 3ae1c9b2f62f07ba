"""Constants and credentials (re-exported from openorch)."""

from openorch.database.constants import Constant, Credential

__all__ = ["Constant", "Credential"]

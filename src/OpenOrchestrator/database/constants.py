"""Constants and credentials (re-exported from openorch)."""

from openorch.database.base import Base
from openorch.database.constants import Constant, Credential
from OpenOrchestrator.common import datetime_util

__all__ = ["Constant", "Credential"]

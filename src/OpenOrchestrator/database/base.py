"""The declarative base whose metadata holds every table (re-exported from openorch)."""

from openorch.database.base import Base

__all__ = ["Base"]

"""The declarative base whose metadata holds every table (re-exported from openorch)."""

from openorch.database import load_all_models
from openorch.database.base import Base

load_all_models()  # the metadata holds every table (create_all, drop_all)

__all__ = ["Base"]

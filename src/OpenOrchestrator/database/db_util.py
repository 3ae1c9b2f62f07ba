"""The original's `db_util` functions over one default connection, re-exported from
`openorch.sdk.db_util` (which holds that connection and delegates to openorch's data
layer)."""

from openorch.sdk.db_util import *  # noqa: F403
from openorch.sdk.db_util import __all__ as __all__

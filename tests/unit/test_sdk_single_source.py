"""The SDK's compatibility functions take their signatures and docstrings from the data
layer (`openorch.store.Store`), the one source: this fails when one is written out again
and drifts. (tests/compat checks the same functions against the real original.)"""

import inspect

import pytest

from openorch.sdk import db_util
from openorch.sdk.connection import OrchestratorConnection
from openorch.store import Store

#: db_util functions written by hand, each for a behaviour of the original the data
#: layer does not share (see their comments); they still take the Store's docstring.
HAND_WRITTEN = {
    "get_pending_single_triggers",
    "get_pending_scheduled_triggers",
    "get_pending_queue_triggers",
    "get_queue_count",
    "update_queue_element",
}
NOT_STORE_METHODS = {"connect", "disconnect", "get_conn_string"}


def _without_self(method: object) -> inspect.Signature:
    signature = inspect.signature(method)  # type: ignore[arg-type]
    return signature.replace(parameters=list(signature.parameters.values())[1:])


@pytest.mark.parametrize("name", sorted(set(db_util.__all__) - NOT_STORE_METHODS))
def test_db_util_function_is_the_store_method(name: str) -> None:
    function = getattr(db_util, name)
    method = getattr(Store, name)
    assert function.__doc__ == method.__doc__
    assert function.__doc__, f"Store.{name} has no docstring"
    if name in HAND_WRITTEN:
        if name == "update_queue_element":
            assert inspect.signature(function) == _without_self(method)
        return
    assert inspect.signature(function) == _without_self(method)
    assert function.__module__ == "openorch.sdk.db_util"


@pytest.mark.parametrize(
    "name",
    [
        "get_constant",
        "update_constant",
        "update_credential",
        "create_queue_element",
        "bulk_create_queue_elements",
        "get_next_queue_element",
        "set_queue_element_status",
        "delete_queue_element",
    ],
)
def test_connection_methods_take_the_store_docstring(name: str) -> None:
    assert getattr(OrchestratorConnection, name).__doc__ == getattr(Store, name).__doc__

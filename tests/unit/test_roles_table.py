"""The role table (`openorch.roles`): every data-layer method is deliberately a read, a
write a lower role may make, or admin-only; secrets stay admin-only."""

import inspect

import pytest

from openorch.identity import ROLES, Identity
from openorch.roles import (
    ADMINISTER,
    READ,
    READ_METHODS,
    WRITE_METHODS,
    NotAllowed,
    action_of_call,
    check_call,
    may,
)
from openorch.store import Store

PUBLIC = {name for name, value in inspect.getmembers(Store) if callable(value)}


def test_every_named_method_exists() -> None:
    assert READ_METHODS <= PUBLIC, READ_METHODS - PUBLIC
    assert set(WRITE_METHODS) <= PUBLIC, set(WRITE_METHODS) - PUBLIC


def test_no_write_is_listed_as_a_read() -> None:
    writers = ("create_", "delete_", "set_", "update_", "save_", "begin_", "end_", "claim")
    assert not [name for name in READ_METHODS if name.startswith(writers)]
    # Claims the next element: a write, though its name reads like a read.
    assert "get_next_queue_element" not in READ_METHODS


@pytest.mark.parametrize("role", ROLES)
def test_unknown_and_admin_calls_are_admin_only(role: str) -> None:
    who = Identity("x", "oidc", role)
    for method in ("create_credential", "create_api_token", "delete_trigger", "brand_new_write"):
        assert action_of_call(method, (), {}) == ADMINISTER
        if role == "admin":
            check_call(who, method, (), {})
        else:
            with pytest.raises(NotAllowed, match="only admins"):
                check_call(who, method, (), {})


def test_secrets_are_admin_only_and_reads_are_for_all() -> None:
    viewer = Identity("v", "ldap", "viewer")
    with pytest.raises(NotAllowed):
        check_call(viewer, "get_credential", ("mail",), {})
    with pytest.raises(NotAllowed):
        check_call(viewer, "get_alert_channel", ("hook",), {"decrypt": True})
    check_call(viewer, "get_credential", ("mail", False), {})
    check_call(viewer, "get_alert_channel", ("hook",), {})
    assert all(may(Identity("r", "token", role), READ) for role in ROLES)


def test_operator_bulk_retry_only() -> None:
    operator = Identity("o", "oidc", "operator")
    check_call(operator, "apply_queue_action", ("retry", "q"), {})
    for action in ("delete", "abandon"):
        with pytest.raises(NotAllowed):
            check_call(operator, "apply_queue_action", (action, "q"), {})


def test_reviewers_decide_reviews_but_do_not_run_triggers() -> None:
    reviewer = Identity("r", "oidc", "reviewer")
    check_call(reviewer, "decide_review_item", (), {})
    with pytest.raises(NotAllowed):
        check_call(reviewer, "enable_trigger", ("id",), {})
    with pytest.raises(NotAllowed):
        check_call(Identity("v", "oidc", "viewer"), "decide_review_item", (), {})

"""The data layer raises its own error classes on both databases, including when another
program inserts the same name between the check and the commit."""

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import UnmappedInstanceError

from openorch.store import Store
from openorch.store.errors import Duplicate, NotFound


def test_a_name_taken_between_check_and_commit_is_a_duplicate(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_constant("taken", "first")
    store.create_credential("taken", "user", "pw")
    # The other program's row is invisible to the check, as in a race.
    monkeypatch.setattr(Session, "get", lambda *_args, **_kwargs: None)
    with pytest.raises(Duplicate, match="already exists") as raised:
        store.create_constant("taken", "second")
    assert isinstance(raised.value, IntegrityError) and isinstance(raised.value, ValueError)
    with pytest.raises(Duplicate):
        store.create_credential("taken", "user", "pw")
    monkeypatch.undo()
    assert store.get_constant("taken").value == "first"


def test_deleting_what_is_not_there_is_not_found(store: Store) -> None:
    with pytest.raises(UnmappedInstanceError):  # the original's except clause
        store.delete_constant("nothing")
    with pytest.raises(NotFound, match="No credential named 'nothing'"):
        store.delete_credential("nothing")

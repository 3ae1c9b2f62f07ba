"""The data layer's error hierarchy: each class is a ValueError and the class the original
OpenOrchestrator raised in the same case, so `except` clauses written for either catch it."""

import pickle

import pytest
from cryptography.fernet import InvalidToken
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError, UnmappedInstanceError

from openorch.crypto import Cipher, generate_key
from openorch.database.types import StringList, parse_names
from openorch.store import errors
from openorch.store import validation as v


@pytest.mark.parametrize(
    ("cls", "also"),
    [
        (errors.NotFound, (UnmappedInstanceError, StaleDataError)),
        (errors.Duplicate, (IntegrityError,)),
        (errors.BadInput, ()),
        (errors.KeyMismatch, (InvalidToken,)),
        (errors.NotConnected, (RuntimeError,)),
        (errors.NoKey, (RuntimeError, errors.NotConnected)),
    ],
)
def test_each_error_is_a_value_error_and_the_originals_class(
    cls: type[errors.StoreError], also: tuple[type, ...]
) -> None:
    error = cls("No constant named 'x' exists.")
    assert isinstance(error, ValueError) and isinstance(error, errors.StoreError)
    for original in also:
        assert isinstance(error, original)
        with pytest.raises(original):
            raise error
    assert str(error) == "No constant named 'x' exists."  # no SQL or driver text added
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls and str(copy) == str(error)


def test_only_not_found_and_duplicate_are_sqlalchemy_errors() -> None:
    """Code that treats SQLAlchemyError as an outage must skip StoreError first (the
    Scheduler does)."""
    assert issubclass(errors.NotFound, SQLAlchemyError)
    assert not issubclass(errors.BadInput, SQLAlchemyError)


def test_a_wrong_key_and_a_bad_key_raise_their_classes() -> None:
    token = Cipher(generate_key()).encrypt("secret")
    with pytest.raises(errors.KeyMismatch):
        Cipher(generate_key()).decrypt(token)
    with pytest.raises(errors.BadInput, match="Invalid AES key"):
        Cipher("not a key")


def test_numbers_become_text_bools_do_not() -> None:
    assert v.as_text(1254) == "1254" and v.as_text(1.5) == "1.5"
    assert v.as_text(True) is True and v.as_text("x") == "x"


def test_limits_and_sort_keys_as_the_original_sends_them() -> None:
    assert v.check_limit(None) is None and v.check_limit(0) is None
    assert v.check_limit(5) == 5
    with pytest.raises(errors.BadInput):
        v.check_limit(-1)
    assert v.order_key("Log Time") == "log_time"
    assert v.order_key("none") is None and v.order_key("") is None


def test_whitelist_column_reads_and_writes_json_lists() -> None:
    column = StringList(250)
    assert column.process_bind_param(["M1"], None) == '["M1"]'  # type: ignore[arg-type]
    assert column.process_bind_param([], None) == "[]"  # type: ignore[arg-type]
    assert column.process_bind_param(None, None) is None  # type: ignore[arg-type]
    assert column.process_result_value('["M1"]', None) == ["M1"]  # type: ignore[arg-type]
    assert column.process_result_value("[]", None) == []  # type: ignore[arg-type]
    assert parse_names("M1, M2") == ["M1", "M2"]  # typed into the database by hand

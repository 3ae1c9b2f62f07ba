"""`validation.check_whole_number`: numbers as OpenOrchestrator 3.0.0's callers give them
(issue 24), taken when they convert to an integer without loss."""

from decimal import Decimal
from fractions import Fraction

import pytest

from openorch.store.validation import check_whole_number


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (5, 5),
        ("5", 5),
        (" 5 ", 5),
        ("-5", -5),
        ("5.0", 5),
        (7.0, 7),
        (True, 1),
        (False, 0),
        (Decimal("3"), 3),
        (Fraction(6, 2), 3),
    ],
)
def test_lossless_numbers_are_taken(given: object, expected: int) -> None:
    result = check_whole_number("priority", given)
    assert result == expected and type(result) is int


@pytest.mark.parametrize(
    "given",
    [1.5, "1.5", "five", "", float("nan"), float("inf"), Decimal("2.5"), [1], b"5", 2**31],
)
def test_numbers_that_would_change_are_refused(given: object) -> None:
    with pytest.raises(ValueError, match="priority"):
        check_whole_number("priority", given)


def test_none_is_the_default_when_there_is_one() -> None:
    assert check_whole_number("priority", None, default=0) == 0
    with pytest.raises(ValueError, match="min_batch_size must be an integer"):
        check_whole_number("min_batch_size", None, minimum=1)
    with pytest.raises(ValueError, match="at least 1"):
        check_whole_number("min_batch_size", "0", minimum=1)

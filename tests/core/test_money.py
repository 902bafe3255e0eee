"""Money is exact to the fen and never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shelfbridge.core.money import MoneyError, format_yuan, parse_yuan


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234.5", "1234.50"),
        ("￥800000", "800000.00"),
        (" 0.01 ", "0.01"),
        (7, "7.00"),
        ("1.230", "1.23"),
    ],
)
def test_amounts_parse_to_two_places(raw: object, expected: str) -> None:
    assert format_yuan(parse_yuan(raw)) == expected


@pytest.mark.parametrize(
    "raw", ["", "abc", "1.234", "-1", "1e400", "NaN", 1.5, True, "99999999999999.00"]
)
def test_bad_amounts_are_refused(raw: object) -> None:
    with pytest.raises(MoneyError):
        parse_yuan(raw)


@given(st.decimals(min_value=0, max_value=Decimal("9999999999999.99"), places=2))
def test_text_round_trip_is_exact(amount: Decimal) -> None:
    assert parse_yuan(format_yuan(amount)) == amount

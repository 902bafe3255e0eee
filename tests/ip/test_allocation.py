"""The one allocation function: parts sum exactly to the whole, each within one fen (or one
share) of its exact share, with a documented, deterministic tie-break."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shelfbridge.core.money import MAX_YUAN, MoneyError, allocate, allocate_units

amounts = st.decimals(min_value=0, max_value=MAX_YUAN, places=2)
weights = st.lists(
    st.one_of(
        st.integers(min_value=1, max_value=10**6),
        st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3),
    ),
    min_size=1,
    max_size=50,
)


@given(amounts, weights)
def test_parts_sum_to_the_total_and_stay_within_one_fen_of_the_exact_share(
    total: Decimal, ws: list[Decimal | int]
) -> None:
    parts = allocate(total, ws)
    assert len(parts) == len(ws)
    assert sum(parts, Decimal("0.00")) == total
    whole = sum(Fraction(w) for w in ws)
    for part, weight in zip(parts, ws, strict=True):
        assert part == part.quantize(Decimal("0.01"))
        exact = Fraction(total) * Fraction(weight) / whole
        assert abs(Fraction(part) - exact) < Fraction(1, 100)
        assert part >= 0


@given(st.integers(min_value=0, max_value=10**15), weights)
def test_share_counts_sum_to_the_shares_and_stay_within_one_share(
    total: int, ws: list[Decimal | int]
) -> None:
    parts = allocate_units(total, ws)
    assert sum(parts) == total
    whole = sum(Fraction(w) for w in ws)
    for part, weight in zip(parts, ws, strict=True):
        assert isinstance(part, int)
        assert abs(part - Fraction(total) * Fraction(weight) / whole) < 1


@given(amounts, weights)
def test_the_same_input_always_gives_the_same_parts(
    total: Decimal, ws: list[Decimal | int]
) -> None:
    assert allocate(total, ws) == allocate(total, list(ws))


def test_the_largest_remainder_gets_the_left_over_fen() -> None:
    # exact shares 0.333…, 0.666…: one fen is left and goes to the larger remainder
    assert allocate(Decimal("0.01"), [1, 2]) == [Decimal("0.00"), Decimal("0.01")]
    assert allocate(Decimal("100.00"), [1, 1, 1]) == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]


def test_equal_remainders_go_to_the_larger_weight_then_the_earlier_position() -> None:
    # exact 0.5 and 1.5 units: equal remainders, the larger weight wins
    assert allocate_units(2, [1, 3]) == [0, 2]
    # equal remainders and equal weights: the earlier position wins
    assert allocate_units(1, [1, 1]) == [1, 0]
    assert allocate_units(2, [1, 1, 1]) == [1, 1, 0]


def test_decimal_weights_are_exact() -> None:
    assert allocate_units(10, [Decimal("3.3"), Decimal("3.3"), Decimal("3.4")]) == [3, 3, 4]
    assert allocate(Decimal("1.00"), [Decimal("0.1"), Decimal("0.2")]) == [
        Decimal("0.33"),
        Decimal("0.67"),
    ]


@pytest.mark.parametrize("bad_weights", [[], [0], [1, -1], [1.5], [True], [Decimal("NaN")], ["3"]])
def test_weights_must_be_exact_positive_numbers(bad_weights: list[object]) -> None:
    with pytest.raises(MoneyError):
        allocate(Decimal("1.00"), bad_weights)  # type: ignore[arg-type]


@pytest.mark.parametrize("total", [Decimal("1.001"), Decimal("-1.00"), Decimal("Infinity")])
def test_only_whole_fen_amounts_are_split(total: Decimal) -> None:
    with pytest.raises(MoneyError):
        allocate(total, [1])


def test_share_counts_must_be_whole() -> None:
    with pytest.raises(MoneyError):
        allocate_units(Decimal("10"), [1])  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        allocate_units(-1, [1])

"""Money is Decimal yuan with two places (fen); never float. Splitting an amount (or a number
of shares) uses one function, :func:`allocate_units`, whose parts always sum to the whole."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction

FEN = Decimal("0.01")
MAX_YUAN = Decimal("9999999999999.99")  # fits NUMERIC(15, 2)


class MoneyError(ValueError):
    """Raised with a message id that explains what is wrong with an amount."""


def parse_yuan(value: object) -> Decimal:
    """Parse an amount in yuan. Rejects floats, more than two decimals, and nonsense."""
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, (bool, float)):
        # Floats cannot carry fen exactly; callers must pass text or Decimal.
        raise MoneyError("Amounts must be written as text, for example 1234.50.")
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("¥", "").replace("￥", "")
        if not text:
            raise MoneyError("An amount is required.")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise MoneyError("Not a valid amount: use digits and a dot, e.g. 1234.50.") from None
    else:
        raise MoneyError("Not a valid amount: use digits and a dot, e.g. 1234.50.")
    if not amount.is_finite():
        raise MoneyError("Not a valid amount: use digits and a dot, e.g. 1234.50.")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(FEN):
        raise MoneyError("Amounts are exact to the fen: at most two decimal places.")
    if amount < 0:
        raise MoneyError("Amounts cannot be negative.")
    if amount > MAX_YUAN:
        raise MoneyError("The amount is too large.")
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def format_yuan(amount: Decimal | None) -> str:
    """Plain decimal text with two places, the form exports and the API use."""
    if amount is None:
        return ""
    return str(amount.quantize(FEN))


Weight = Decimal | int | Fraction


def _integer_weights(weights: Sequence[Weight]) -> list[int]:
    """The weights scaled to integers with the same ratios (exact, no rounding)."""
    if not weights:
        raise MoneyError("Give at least one weight to split an amount.")
    exact: list[Fraction] = []
    for weight in weights:
        if isinstance(weight, bool) or not isinstance(weight, (Decimal, int, Fraction)):
            raise MoneyError("Weights must be exact numbers (text or Decimal), not floats.")
        if isinstance(weight, Decimal) and not weight.is_finite():
            raise MoneyError("Weights must be positive numbers.")
        value = Fraction(weight)
        if value <= 0:
            raise MoneyError("Weights must be positive numbers.")
        exact.append(value)
    scale = math.lcm(*(value.denominator for value in exact))
    return [int(value * scale) for value in exact]


def allocate_units(total: int, weights: Sequence[Weight]) -> list[int]:
    """Split ``total`` whole units (fen, or shares of an equity reward) in proportion to
    ``weights`` by the largest-remainder method. The only splitting arithmetic in Shelfbridge.

    Each part first gets the whole units of its exact share ``total * w / sum(w)``; the units
    left over (fewer than the number of parts) go one each to the parts with the largest
    fractional remainder. Ties are broken deterministically: larger remainder first, then the
    larger weight, then the earlier position in ``weights``. So the parts always sum to
    ``total`` exactly, each part is its exact share rounded down or up (within one unit of
    it), and the same input always gives the same output.
    """
    if isinstance(total, bool) or not isinstance(total, int):
        raise MoneyError("Only whole units (fen or shares) can be split.")
    if total < 0:
        raise MoneyError("Amounts cannot be negative.")
    scaled = _integer_weights(weights)
    whole = sum(scaled)
    parts = []
    remainders = []
    for weight in scaled:
        part, remainder = divmod(total * weight, whole)
        parts.append(part)
        remainders.append(remainder)
    left = total - sum(parts)
    order = sorted(range(len(scaled)), key=lambda i: (-remainders[i], -scaled[i], i))
    for index in order[:left]:
        parts[index] += 1
    return parts


def allocate(total: Decimal, weights: Sequence[Weight]) -> list[Decimal]:
    """Split an amount in yuan into parts exact to the fen that sum to it exactly, in
    proportion to ``weights`` (largest remainder, see :func:`allocate_units`)."""
    if not isinstance(total, Decimal) or not total.is_finite():
        raise MoneyError("Not a valid amount: use digits and a dot, e.g. 1234.50.")
    fen = total / FEN
    if fen != fen.to_integral_value():
        raise MoneyError("Amounts are exact to the fen: at most two decimal places.")
    return [Decimal(part) * FEN for part in allocate_units(int(fen), weights)]

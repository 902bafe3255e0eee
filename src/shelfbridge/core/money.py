"""Money is Decimal yuan with two places (fen); never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

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

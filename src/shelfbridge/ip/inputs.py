"""Reading the fields of an IP form or API body: every problem is collected, none raised
alone, so the caller hears about all of them at once (:class:`ValidationFailed`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from shelfbridge.core.errors import FieldProblem, ValidationFailed
from shelfbridge.core.i18n import N_
from shelfbridge.core.money import MoneyError, parse_yuan
from shelfbridge.web.deps import MAX_ID

REQUIRED = N_("This field is required.")
MAX_SHARES = 10**15
MAX_WEIGHT = Decimal("100000000")
# The days the ledger takes: deadlines and terms are computed years ahead of them.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


class Fields:
    """The raw values of one submission and the problems found so far."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.problems: list[FieldProblem] = []

    def problem(self, name: str, message: str, **params: Any) -> None:
        self.problems.append(FieldProblem(name, message, params))

    def done(self) -> None:
        if self.problems:
            raise ValidationFailed(self.problems)

    def text(self, name: str, *, required: bool = False, max_length: int = 200) -> str | None:
        value = self.raw.get(name)
        text = None if value is None else str(value).strip() or None
        if text is None:
            if required:
                self.problem(name, REQUIRED)
            return None
        if len(text) > max_length:
            self.problem(
                name,
                N_("At most {max} characters; this has {length}."),
                max=max_length,
                length=len(text),
            )
            return None
        return text

    def choice(
        self, name: str, choices: Mapping[str, str], *, required: bool = False
    ) -> str | None:
        text = self.text(name, required=required, max_length=60)
        if text is not None and text not in choices:
            self.problem(
                name,
                N_("“{value}” is not one of: {choices}."),
                value=text,
                choices=", ".join(choices),
            )
            return None
        return text

    def day(self, name: str, *, required: bool = False) -> date | None:
        value = self.raw.get(name)
        if isinstance(value, date):
            found = value
        else:
            text = self.text(name, required=required, max_length=20)
            if text is None:
                return None
            try:
                found = date.fromisoformat(text)
            except ValueError:
                self.problem(name, N_("“{value}” is not a day such as 2024-05-01."), value=text)
                return None
        if not FIRST_DAY <= found <= LAST_DAY:
            self.problem(
                name,
                N_("Give a day from {first} to {last}."),
                first=FIRST_DAY.isoformat(),
                last=LAST_DAY.isoformat(),
            )
            return None
        return found

    def yuan(self, name: str, *, required: bool = False) -> Decimal | None:
        value = self.raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(name, REQUIRED)
            return None
        try:
            return parse_yuan(value.replace(",", "") if isinstance(value, str) else value)
        except MoneyError as error:
            self.problem(name, str(error.args[0]))
            return None

    def whole(self, name: str, *, required: bool = False, maximum: int = MAX_SHARES) -> int | None:
        value = self.raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(name, REQUIRED)
            return None
        text = str(value).strip().replace(",", "")
        if isinstance(value, bool) or not text.isdigit() or not 0 < int(text) <= maximum:
            self.problem(name, N_("“{value}” is not a positive whole number."), value=value)
            return None
        return int(text)

    def ident(self, name: str, *, required: bool = False) -> int | None:
        return self.whole(name, required=required, maximum=MAX_ID)

    def flag(self, name: str) -> bool:
        value = self.raw.get(name)
        if isinstance(value, bool):
            return value
        return str(value or "").strip().lower() in ("1", "true", "yes", "on", "main")

    def percent(self, name: str) -> Decimal | None:
        value = self.raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        except InvalidOperation:
            number = Decimal("NaN")
        if (
            isinstance(value, (bool, float))
            or not number.is_finite()
            or not 0 <= number <= 100
            or number != number.quantize(Decimal("0.01"))
        ):
            self.problem(
                name,
                N_("“{value}” is not a percentage between 0 and 100 with at most two decimals."),
                value=value,
            )
            return None
        return number

    def weight(self, name: str, value: Any) -> Decimal | None:
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        except InvalidOperation:
            number = Decimal("NaN")
        if (
            isinstance(value, (bool, float))
            or not number.is_finite()
            or not 0 < number <= MAX_WEIGHT
            or number != number.quantize(Decimal("0.0001"))
        ):
            self.problem(
                name,
                N_("The weight “{value}” must be a positive number with at most four decimals."),
                value=value,
            )
            return None
        return number

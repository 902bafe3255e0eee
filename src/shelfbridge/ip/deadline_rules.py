"""The deadline rules as data: the CNIPA annual-fee schedule by patent type and patent year
(``reference/patent_annual_fees.csv``) and the periods, grace periods and terms
(``reference/patent_deadline_rules.csv``), each row with its source and a confidence mark
(C confirmed, S secondary, U unconfirmed), read once and checked as they are read: a patent
year priced twice, a fee not exact to the fen or an unknown patent type stops the load.
``ip/deadlines.py`` computes an asset's deadlines from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from shelfbridge.core.i18n import current_language
from shelfbridge.ip import rules

FEES_FILE = "patent_annual_fees.csv"
RULES_FILE = "patent_deadline_rules.csv"


@dataclass(frozen=True)
class PeriodRule:
    id: str
    kind: str
    patent_types: frozenset[str]
    months: int
    grace_months: int | None
    filed_from: date | None
    filed_until: date | None
    confidence: str
    source_zh: str
    source_en: str

    def covers(self, patent_type: str, filed_on: date | None) -> bool:
        if patent_type not in self.patent_types:
            return False
        if filed_on is None:
            return self.filed_from is None and self.filed_until is None
        if self.filed_from and filed_on < self.filed_from:
            return False
        return not (self.filed_until and filed_on > self.filed_until)

    def source(self, language: str | None = None) -> str:
        chosen = language or current_language.get()
        return self.source_en if chosen == "en" else self.source_zh


@dataclass(frozen=True)
class FeeRow(PeriodRule):
    year_from: int = 0
    year_to: int = 0
    fee: Decimal = Decimal(0)


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text.strip() else None


def _types(text: str) -> frozenset[str]:
    found = frozenset(part.strip() for part in text.split(";") if part.strip())
    unknown = found - set(rules.PATENT_TYPES)
    if unknown or not found:
        raise rules.RuleDataError(f"unknown patent types {sorted(unknown)}")
    return found


def parse_period(row: Mapping[str, str]) -> PeriodRule:
    if row["confidence"] not in ("C", "S", "U"):
        raise rules.RuleDataError(f"{row['id']}: confidence must be C, S or U")
    return PeriodRule(
        id=row["id"],
        kind=row["kind"],
        patent_types=_types(row["patent_types"]),
        months=int(row["months"]),
        grace_months=int(row["grace_months"]) if row["grace_months"].strip() else None,
        filed_from=_day(row["filed_from"]),
        filed_until=_day(row["filed_until"]),
        confidence=row["confidence"],
        source_zh=row["source_zh"],
        source_en=row["source_en"],
    )


def parse_fee(row: Mapping[str, str]) -> FeeRow:
    if row["confidence"] not in ("C", "S", "U"):
        raise rules.RuleDataError(f"{row['id']}: confidence must be C, S or U")
    year_from, year_to = int(row["year_from"]), int(row["year_to"])
    if not 1 <= year_from <= year_to <= 20:
        raise rules.RuleDataError(f"{row['id']}: patent years must run within 1–20")
    fee = Decimal(row["fee_yuan"])
    if fee <= 0 or fee != fee.quantize(Decimal("0.01")):
        raise rules.RuleDataError(f"{row['id']}: the fee must be yuan exact to the fen")
    return FeeRow(
        id=row["id"],
        kind="annual-fee",
        patent_types=_types(row["patent_type"]),
        months=12,
        grace_months=None,
        filed_from=_day(row["filed_from"]),
        filed_until=_day(row["filed_until"]),
        confidence=row["confidence"],
        source_zh=row["source_zh"],
        source_en=row["source_en"],
        year_from=year_from,
        year_to=year_to,
        fee=fee,
    )


@dataclass(frozen=True)
class DeadlineBook:
    periods: tuple[PeriodRule, ...]
    fees: tuple[FeeRow, ...]

    def __post_init__(self) -> None:
        for patent_type in rules.PATENT_TYPES:
            years: dict[int, str] = {}
            for row in self.fees:
                if patent_type not in row.patent_types:
                    continue
                for year in range(row.year_from, row.year_to + 1):
                    if year in years:
                        raise rules.RuleDataError(
                            f"{row.id} and {years[year]} both price year {year} of {patent_type}"
                        )
                    years[year] = row.id

    def period(
        self, kind: str, patent_type: str, filed_on: date | None = None
    ) -> PeriodRule | None:
        for rule in self.periods:
            if rule.kind == kind and rule.covers(patent_type, filed_on):
                return rule
        return None

    def fee(self, patent_type: str, year: int, filed_on: date) -> FeeRow | None:
        for row in self.fees:
            if row.covers(patent_type, filed_on) and row.year_from <= year <= row.year_to:
                return row
        return None

    def term_years(self, patent_type: str, filed_on: date) -> int | None:
        rule = self.period("term", patent_type, filed_on)
        return rule.months // 12 if rule else None


@cache
def builtin_book() -> DeadlineBook:
    from shelfbridge.registry.reference import read_reference_csv

    return DeadlineBook(
        tuple(parse_period(row) for row in read_reference_csv(RULES_FILE)),
        tuple(parse_fee(row) for row in read_reference_csv(FEES_FILE)),
    )

"""The deadline rules as data: the CNIPA annual-fee schedule by patent type and patent year
(``reference/patent_annual_fees.csv``), the periods, grace periods and terms
(``reference/patent_deadline_rules.csv``), the fee reductions (费减,
``reference/patent_fee_reductions.csv``), the day a notice of the office counts as received
by how it was delivered (``reference/patent_service_rules.csv``) and the office's fees other
than annual ones (``reference/patent_office_fees.csv``), each row with its source and a
confidence mark (C confirmed, S secondary, U unconfirmed), read once and checked as they are
read: a patent year priced twice, two reductions of the same fees, a way of delivery or a fee
ruled twice, a fee not exact to the fen or an unknown patent type stops the load.
``ip/deadlines.py`` computes an asset's deadlines from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from shelfbridge.core.i18n import current_language
from shelfbridge.ip import rules

FEES_FILE = "patent_annual_fees.csv"
RULES_FILE = "patent_deadline_rules.csv"
REDUCTIONS_FILE = "patent_fee_reductions.csv"
SERVICE_FILE = "patent_service_rules.csv"
OFFICE_FEES_FILE = "patent_office_fees.csv"
REDUCTION_KINDS = ("sole", "joint")
#: the rule giving the usual period of an office action's kind, when the notice names none
RESPONSE_RULES = {"first-examination": "OA-FIRST-INV", "loss-of-rights": "PIR-6-RESTORE"}
OTHER_RESPONSE_RULE = "OA-OTHER"
#: the fee paid with the answer to an office action of a kind (a fee of OFFICE_FEES_FILE)
ACTION_FEES = {"loss-of-rights": "restoration-request"}
#: office actions whose period the law sets (Art. 6(2)), not the office: never extended
FIXED_BY_LAW = frozenset({"loss-of-rights"})
EXTENSION_FEES = ("extension-first-month", "extension-further-month")


class _Sourced:
    """A row that cites its source in both languages, with a confidence mark."""

    id: str
    confidence: str
    source_zh: str
    source_en: str

    @property
    def unconfirmed(self) -> bool:
        return self.confidence == "U"

    def source(self, language: str | None = None) -> str:
        chosen = language or current_language.get()
        return self.source_en if chosen == "en" else self.source_zh


def _within(day: date, since: date | None, until: date | None) -> bool:
    return not (since and day < since) and not (until and day > until)


def _sourced(row: Mapping[str, str]) -> dict[str, str]:
    """The confidence mark and the sources every row carries, the mark checked."""
    if row["confidence"] not in ("C", "S", "U"):
        raise rules.RuleDataError(f"{row['id']}: confidence must be C, S or U")
    return {k: row[k] for k in ("confidence", "source_zh", "source_en")}


@dataclass(frozen=True)
class PeriodRule(_Sourced):
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
        return _within(filed_on, self.filed_from, self.filed_until)


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
    return PeriodRule(
        id=row["id"],
        kind=row["kind"],
        patent_types=_types(row["patent_types"]),
        months=int(row["months"]),
        grace_months=int(row["grace_months"]) if row["grace_months"].strip() else None,
        filed_from=_day(row["filed_from"]),
        filed_until=_day(row["filed_until"]),
        **_sourced(row),
    )


def parse_fee(row: Mapping[str, str]) -> FeeRow:
    year_from, year_to = int(row["year_from"]), int(row["year_to"])
    if not 1 <= year_from <= year_to <= 20:
        raise rules.RuleDataError(f"{row['id']}: patent years must run within 1–20")
    fee = _yuan(row, "fee_yuan")
    return FeeRow(
        id=row["id"],
        kind="annual-fee",
        patent_types=_types(row["patent_type"]),
        months=12,
        grace_months=None,
        filed_from=_day(row["filed_from"]),
        filed_until=_day(row["filed_until"]),
        **_sourced(row),
        year_from=year_from,
        year_to=year_to,
        fee=fee,
    )


@dataclass(frozen=True)
class ReductionRow(_Sourced):
    """A fee reduction (费减): the share of the annual fees waived for the patent years from
    the year of grant, for fees falling due in a span of days."""

    id: str
    reduction: str  # one of REDUCTION_KINDS
    percent: Decimal
    years_from_grant: int
    due_from: date | None
    due_until: date | None
    confidence: str
    source_zh: str
    source_en: str

    def covers(self, reduction: str, due_on: date) -> bool:
        return reduction == self.reduction and _within(due_on, self.due_from, self.due_until)


def parse_reduction(row: Mapping[str, str]) -> ReductionRow:
    if row["reduction"] not in REDUCTION_KINDS:
        raise rules.RuleDataError(f"{row['id']}: reduction must be one of {REDUCTION_KINDS}")
    percent = Decimal(row["percent"])
    if not 0 < percent < 100:
        raise rules.RuleDataError(f"{row['id']}: the share waived must be above 0 and below 100")
    years = int(row["years_from_grant"])
    if not 1 <= years <= 20:
        raise rules.RuleDataError(f"{row['id']}: the years from the grant must be 1–20")
    return ReductionRow(
        id=row["id"],
        reduction=row["reduction"],
        percent=percent,
        years_from_grant=years,
        due_from=_day(row["due_from"]),
        due_until=_day(row["due_until"]),
        **_sourced(row),
    )


@dataclass(frozen=True)
class ServiceRule(_Sourced):
    """When a notice of the office counts as received (served), by how it was delivered: so
    many days and months after the day it was sent (Implementing Rules Art. 4)."""

    id: str
    delivery: str  # a key of models.OFFICE_ACTION_DELIVERIES
    days: int
    months: int
    confidence: str
    source_zh: str
    source_en: str

    def received(self, sent_on: date) -> date:
        return rules.add_months(sent_on, self.months) + timedelta(days=self.days)


def parse_service(row: Mapping[str, str]) -> ServiceRule:
    days, months = int(row["days"]), int(row["months"])
    if not (0 <= days <= 60 and 0 <= months <= 12):
        raise rules.RuleDataError(f"{row['id']}: days must be 0–60 and months 0–12")
    return ServiceRule(
        id=row["id"],
        delivery=row["delivery"],
        days=days,
        months=months,
        **_sourced(row),
    )


@dataclass(frozen=True)
class OfficeFeeRow(_Sourced):
    """A fee of the office other than the annual ones (the restoration request fee)."""

    id: str
    fee: str
    amount: Decimal
    confidence: str
    source_zh: str
    source_en: str


def _yuan(row: Mapping[str, str], column: str) -> Decimal:
    amount = Decimal(row[column])
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise rules.RuleDataError(f"{row['id']}: the fee must be yuan exact to the fen")
    return amount


def parse_office_fee(row: Mapping[str, str]) -> OfficeFeeRow:
    return OfficeFeeRow(
        id=row["id"],
        fee=row["fee"],
        amount=_yuan(row, "amount_yuan"),
        **_sourced(row),
    )


class _Charged:
    """A sum made from rows of the files: unconfirmed when any row is, named by its rows."""

    @property
    def rows(self) -> tuple[_Sourced, ...]:
        raise NotImplementedError

    @property
    def unconfirmed(self) -> bool:
        return any(r.unconfirmed for r in self.rows)

    @property
    def rule_ids(self) -> str:
        """The rows' ids in order, each once, joined by "+"."""
        return "+".join(dict.fromkeys(r.id for r in self.rows))


@dataclass(frozen=True)
class OfficeFees(_Charged):
    """What a step costs in the office's fees other than annual ones: the sum, and the rows."""

    amount: Decimal
    charged: tuple[OfficeFeeRow, ...]

    @property
    def rows(self) -> tuple[_Sourced, ...]:
        return self.charged


@dataclass(frozen=True)
class Payable(_Charged):
    """What the office expects for one patent year: the schedule's fee, less a reduction (its
    ``rule_ids``: the schedule's row, and the reduction's after a "+")."""

    row: FeeRow  # the schedule's row
    amount: Decimal
    reduction: ReductionRow | None  # the reduction applied, if one was

    @property
    def full(self) -> Decimal:
        """The schedule's fee: a late fee is a share of it, reduced or not."""
        return self.row.fee

    @property
    def rows(self) -> tuple[_Sourced, ...]:
        return (self.row, self.reduction) if self.reduction else (self.row,)


def _once(keyed: Iterable[tuple[str, str]]) -> None:
    """Refuse two rows (by id) that rule the same thing (by key)."""
    seen: dict[str, str] = {}
    for key, row_id in keyed:
        if key in seen:
            raise rules.RuleDataError(f"{seen[key]} and {row_id} both rule {key}")
        seen[key] = row_id


@dataclass(frozen=True)
class DeadlineBook:
    periods: tuple[PeriodRule, ...]
    fees: tuple[FeeRow, ...]
    reductions: tuple[ReductionRow, ...] = ()
    services: tuple[ServiceRule, ...] = ()
    office_fees: tuple[OfficeFeeRow, ...] = ()

    def __post_init__(self) -> None:
        _once((s.delivery, s.id) for s in self.services)
        _once((f.fee, f.id) for f in self.office_fees)
        for kind in REDUCTION_KINDS:
            spans = sorted(
                (r.due_from or date.min, r.due_until or date.max, r.id)
                for r in self.reductions
                if r.reduction == kind
            )
            for (_, until, first), (since, _, second) in zip(spans, spans[1:], strict=False):
                if since <= until:
                    raise rules.RuleDataError(f"{first} and {second} both reduce the same fees")
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

    def response_period(self, kind: str, patent_type: str) -> PeriodRule | None:
        """The usual period to answer an office action of ``kind`` (a key of
        ``models.OFFICE_ACTION_KINDS``), for when the notice names no day."""
        wanted = RESPONSE_RULES.get(kind, OTHER_RESPONSE_RULE)
        rule = next((r for r in self.periods if r.id == wanted), None)
        if rule is not None and rule.covers(patent_type, None):
            return rule
        return self.period("office-action", patent_type)

    def service(self, delivery: str) -> ServiceRule | None:
        """The rule of the day a notice delivered so (a key of
        ``models.OFFICE_ACTION_DELIVERIES``) counts as received."""
        return next((r for r in self.services if r.delivery == delivery), None)

    def action_fee(self, kind: str) -> OfficeFeeRow | None:
        """The fee paid with the answer to an office action of ``kind``, if any."""
        wanted = ACTION_FEES.get(kind)
        return self.office_fee(wanted) if wanted else None

    def office_fee(self, fee: str) -> OfficeFeeRow | None:
        return next((f for f in self.office_fees if f.fee == fee), None)

    def extension_fee(self, months: int) -> OfficeFees | None:
        """The fee of a request to extend a period by ``months`` (the first month at one
        rate, each further month at another); None when the file lacks a rate needed."""
        first, further = (self.office_fee(name) for name in EXTENSION_FEES)
        if first is None or (months > 1 and further is None):
            return None
        rows = (first, *([further] * (months - 1) if further else []))
        return OfficeFees(sum((r.amount for r in rows), Decimal(0)), rows)

    def payable(
        self, fee: FeeRow, reduction: str, patent_year: int, grant_year: int, due_on: date
    ) -> Payable:
        """The fee of ``patent_year`` (due on ``due_on``) for an asset holding ``reduction``
        (a key of ``models.FEE_REDUCTIONS``) and granted in patent year ``grant_year``."""
        row = next((r for r in self.reductions if r.covers(reduction, due_on)), None)
        if row is None or not grant_year <= patent_year < grant_year + row.years_from_grant:
            return Payable(fee, fee.fee, None)
        kept = fee.fee * (100 - row.percent) / 100
        return Payable(fee, kept.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), row)

    def term_years(self, patent_type: str, filed_on: date) -> int | None:
        rule = self.period("term", patent_type, filed_on)
        return rule.months // 12 if rule else None


@cache
def builtin_book() -> DeadlineBook:
    from shelfbridge.registry.reference import read_reference_csv

    return DeadlineBook(
        tuple(parse_period(row) for row in read_reference_csv(RULES_FILE)),
        tuple(parse_fee(row) for row in read_reference_csv(FEES_FILE)),
        tuple(parse_reduction(row) for row in read_reference_csv(REDUCTIONS_FILE)),
        tuple(parse_service(row) for row in read_reference_csv(SERVICE_FILE)),
        tuple(parse_office_fee(row) for row in read_reference_csv(OFFICE_FEES_FILE)),
    )

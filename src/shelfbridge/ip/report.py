"""The annual report of a unit on the transformation of its results (law Art. 21): results
transformed, contracts by type, income received and rewards paid, for one calendar year; as
plain data for the page and as an XLSX workbook. Reads only.

What counts in a year (our reading; Art. 21 names the topics, not the columns):

- **results transformed**: distinct assets with a deal signed in the year, by deal type;
- **contracts**: deals signed in the year by the five technology-contract types of the Civil
  Code (Art. 843), their agreed price, how many were registered, and how the price was set;
- **income**: income records received in the year: amount, deductions taken, net income, and
  shares received for equity deals, by reward mode;
- **rewards paid**: distributions marked paid in the year (by the day of payment, in China
  time): cash and shares paid and the people rewarded (distinct persons; a contributor not
  linked to a person counts once per asset); requested or approved but unpaid rewards are
  listed apart.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shelfbridge.core.errors import BadRequest, NotFound, PermissionDenied
from shelfbridge.core.i18n import N_, translate
from shelfbridge.ip import repository, rules
from shelfbridge.ip.models import (
    CONTRACT_TYPES,
    DEAL_TYPES,
    PRICE_MODES,
    Deal,
    Distribution,
    IncomeRecord,
)
from shelfbridge.ip.service import NOT_MANAGER, may_manage
from shelfbridge.registry.models import Organization

CHINA = timezone(timedelta(hours=8))
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZERO = Decimal("0.00")


@dataclass
class Row:
    code: str
    label: str
    count: int = 0
    amount: Decimal = ZERO
    extra: int = 0  # registered contracts; shares received


@dataclass
class AnnualReport:
    org_id: int
    org_name: str
    year: int
    results_transformed: int = 0
    deals: list[Row] = field(default_factory=list)
    contracts: list[Row] = field(default_factory=list)
    price_modes: list[Row] = field(default_factory=list)
    income: list[Row] = field(default_factory=list)
    received: Decimal = ZERO
    costs: Decimal = ZERO
    net: Decimal = ZERO
    shares_received: int = 0
    rewards_paid: Decimal = ZERO
    shares_paid: int = 0
    distributions_paid: int = 0
    people_rewarded: int = 0
    rewards_pending: Decimal = ZERO
    distributions_pending: int = 0


def check_year(value: Any) -> int:
    try:
        year = int(str(value).strip())
    except ValueError:
        year = 0
    if not 1990 <= year <= 2999:
        raise BadRequest(N_("“{value}” is not a year such as 2024."), value=value)
    return year


def _rows(vocabulary: dict[str, str]) -> dict[str, Row]:
    return {code: Row(code, translate(label)) for code, label in vocabulary.items()}


def build(session: Session, org_id: int, year: int) -> AnnualReport:
    """The Art. 21 figures of one unit for one year (its officers and admins, the platform)."""
    organization = session.get(Organization, org_id)
    if organization is None:
        raise NotFound("organizations")
    if not may_manage(org_id):
        raise PermissionDenied(NOT_MANAGER)
    first, last = date(year, 1, 1), date(year, 12, 31)
    report = AnnualReport(org_id, organization.name, year)

    deals = list(
        session.scalars(
            select(Deal).where(
                Deal.owner_org_id == org_id,
                Deal.signed_on >= first,
                Deal.signed_on <= last,
                repository.managed_clause(Deal),
            )
        )
    )
    by_deal, by_contract, by_price = _rows(DEAL_TYPES), _rows(CONTRACT_TYPES), _rows(PRICE_MODES)
    for deal in deals:
        price = deal.price or ZERO
        for row in (by_deal[deal.deal_type], by_contract[deal.contract_type]):
            row.count += 1
            row.amount += price
        by_contract[deal.contract_type].extra += deal.status == "registered"
        by_price[deal.price_mode].count += 1
        by_price[deal.price_mode].amount += price
    report.results_transformed = len({deal.asset_id for deal in deals})
    report.deals = list(by_deal.values())
    report.contracts = list(by_contract.values())
    report.price_modes = list(by_price.values())

    by_mode = _rows({m: rules.MODES[m] for m in ("transfer", "licence", "equity")})
    for record in session.scalars(
        select(IncomeRecord).where(
            IncomeRecord.owner_org_id == org_id,
            IncomeRecord.received_on >= first,
            IncomeRecord.received_on <= last,
            repository.managed_clause(IncomeRecord),
        )
    ):
        row = by_mode.setdefault(record.mode, Row(record.mode, record.mode))
        row.count += 1
        row.amount += record.amount
        row.extra += record.shares or 0
        report.received += record.amount
        report.costs += record.costs
        report.net += record.net
        report.shares_received += record.shares or 0
    report.income = list(by_mode.values())

    start = datetime.combine(first, time(0, 0), tzinfo=CHINA)
    end = datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=CHINA)
    people: set[tuple[str, int]] = set()
    for distribution in session.scalars(
        select(Distribution)
        .where(
            Distribution.owner_org_id == org_id,
            repository.managed_clause(Distribution),
            Distribution.status == "paid",
            Distribution.paid_at >= start,
            Distribution.paid_at < end,
        )
        .options(selectinload(Distribution.lines))
    ):
        report.distributions_paid += 1
        report.rewards_paid += distribution.pool
        report.shares_paid += distribution.pool_shares or 0
        for line in distribution.lines:
            if line.amount > 0 or (line.shares or 0) > 0:
                people.add(
                    ("person", line.person_id)
                    if line.person_id is not None
                    else ("contributor", line.contributor_id)
                )
    report.people_rewarded = len(people)
    for distribution in session.scalars(
        select(Distribution).where(
            Distribution.owner_org_id == org_id,
            repository.managed_clause(Distribution),
            Distribution.status != "paid",
        )
    ):
        report.distributions_pending += 1
        report.rewards_pending += distribution.pool
    return report


def units(session: Session) -> list[tuple[int, str]]:
    """The organisations whose report the caller may read (for the page's choice)."""
    from shelfbridge.accounts.actor import current_actor

    actor = current_actor.get()
    statement = select(Organization.id, Organization.name).order_by(Organization.name)
    if actor.is_unrestricted:
        owners = select(Deal.owner_org_id).union(select(IncomeRecord.owner_org_id))
        statement = statement.where(Organization.id.in_(owners))
    else:
        statement = statement.where(Organization.id.in_(repository.managed_orgs(actor)))
    return [(int(i), str(n)) for i, n in session.execute(statement)]


# ---------------------------------------------------------------------------- XLSX
def xlsx(report: AnnualReport) -> bytes:
    """The report as one worksheet: a title, then a section per topic; money as numbers with
    two places (yuan), so totals can be checked in the spreadsheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = translate(N_("Art. 21 report"))[:31]
    bold = Font(bold=True)
    money = "#,##0.00"

    def line(*values: Any, heading: bool = False) -> None:
        sheet.append(list(values))
        row = sheet.max_row
        for cell in sheet[row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = money
            if heading:
                cell.font = bold

    title = translate(N_("Annual report on the transformation of S&T achievements ({year})"))
    line(title.format(year=report.year), heading=True)
    line(translate(N_("Unit")), report.org_name)
    line(
        translate(N_("Basis")),
        translate(
            N_(
                "Law on Promoting the Transformation of S&T Achievements, Art. 21 (figures as "
                "recorded in Shelfbridge)"
            )
        ),
    )
    line()
    line(translate(N_("Results transformed")), report.results_transformed, heading=True)
    line(
        translate(N_("Deal type")),
        translate(N_("Deals")),
        translate(N_("Agreed price")),
        heading=True,
    )
    for row in report.deals:
        line(row.label, row.count, row.amount)
    line()
    line(
        translate(N_("Contract type")),
        translate(N_("Contracts")),
        translate(N_("Agreed price")),
        translate(N_("Registered")),
        heading=True,
    )
    for row in report.contracts:
        line(row.label, row.count, row.amount, row.extra)
    line()
    line(
        translate(N_("Price set by")),
        translate(N_("Contracts")),
        translate(N_("Agreed price")),
        heading=True,
    )
    for row in report.price_modes:
        line(row.label, row.count, row.amount)
    line()
    line(
        translate(N_("Income by mode")),
        translate(N_("Records")),
        translate(N_("Amount received")),
        translate(N_("Shares received")),
        heading=True,
    )
    for row in report.income:
        line(row.label, row.count, row.amount, row.extra)
    line(translate(N_("Total received")), None, report.received, report.shares_received)
    line(translate(N_("Deductions taken")), None, report.costs)
    line(translate(N_("Net income")), None, report.net)
    line()
    line(translate(N_("Rewards")), heading=True)
    line(
        translate(N_("Rewards paid")),
        report.distributions_paid,
        report.rewards_paid,
        report.shares_paid,
    )
    line(translate(N_("People rewarded")), report.people_rewarded)
    line(
        translate(N_("Rewards not yet paid")), report.distributions_pending, report.rewards_pending
    )
    sheet.column_dimensions["A"].width = 36
    for column in "BCD":
        sheet.column_dimensions[column].width = 18
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def filename(report: AnnualReport) -> str:
    return f"art21-report-{report.org_id}-{report.year}.xlsx"

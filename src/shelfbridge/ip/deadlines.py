"""Deadlines of IP assets: annual fees by patent year, office-action responses, the Paris
priority year, the PCT national phase and the reward due on grant. Never commits.

Rules are data, read by ``ip/deadline_rules.py``: ``reference/patent_annual_fees.csv`` (the
CNIPA fee schedule by patent type and patent year) and ``reference/patent_deadline_rules.csv``
(periods, grace periods and terms), each row with its source and a confidence mark; a
deadline computed from an unconfirmed row (the fee figures, the usual office-action periods)
says so. Everything except office actions is computed from an asset's dates, never stored:

- **annual fee** (Implementing Rules Art. 115): for a granted patent, the fee of patent year
  ``n`` is due before year ``n`` begins, i.e. by the ``n-1``-th anniversary of the filing day
  (shown as that anniversary), with 6 months' grace and a late fee of 5% of the year's full
  fee for each month the payment is late (counted in whole months past the due day); years
  counted from the filing day up to the end of the term (Patent Law Art. 42). Paid years
  (``ip/fees.py``) are left out. When the caller passes the paid years, an unpaid year whose
  due day has passed is listed too: *in grace period (late fee)*, with the late fee owed on
  the first day of the window, until its grace ends; after that the patent has *lapsed unless
  restored* (Art. 115; restoration under Art. 6), shown once, for the first such year. Years
  whose grace ended before the asset was entered in the ledger are taken as settled: the
  ledger cannot know them, and an asset entered as in force was still in force. An asset
  whose fee reduction (费减) the office approved (``IpAsset.fee_reduction``) shows the reduced
  fee for the years the reduction covers (counted from the year of grant), with the schedule's
  fee beside it; its late fee stays a share of the schedule's full fee.
- **Paris priority** (Patent Law Art. 29): a later filing abroad (or in China) claiming this
  one's priority, 12 months (6 for designs) from the earliest priority or the filing day.
- **PCT national phase** (Implementing Rules Art. 120): 30 months from the priority date of an
  international application (32 with the grace fee), for China; other offices vary.
- **office action**: the day named on the notice, or the usual period of its kind when none is
  given, from the day the notice was received (shown, or presumed by how it was delivered:
  Implementing Rules Art. 4); a notice of loss of rights (a lapse among them) opens the 2
  months in which restoration may be requested (Implementing Rules Art. 6(2)).
- **reward on grant** (Implementing Rules Art. 93; Art. 77 before 2024): the default reward to
  the inventors, within 3 months of the grant.

Days falling on a weekend or public holiday are not moved (the office's own rule extends them);
the calendar shows the legal day.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shelfbridge.core.errors import BadRequest
from shelfbridge.core.i18n import N_, current_language, translate
from shelfbridge.ip import repository, rules
from shelfbridge.ip.deadline_rules import (
    DeadlineBook,
    OfficeFeeRow,
    PeriodRule,
    ReductionRow,
    builtin_book,
)
from shelfbridge.ip.fee_models import IpFeePayment
from shelfbridge.ip.models import (
    PATENT_TYPE_OF,
    IpAsset,
    IpOfficeAction,
)

ACTIVE = ("filed", "published", "granted", "maintained")
IN_FORCE = ("granted", "maintained")
KINDS: dict[str, str] = {
    "annual-fee": N_("annual fee"),
    "office-action": N_("office action response"),
    "paris-priority": N_("Paris priority year ends"),
    "pct-national-phase": N_("PCT national phase entry"),
    "grant-reward": N_("inventors' reward on grant"),
}
MAX_WINDOW_DAYS = 3660
#: the states of an annual fee whose due day has passed unpaid
STATES: dict[str, str] = {
    "grace": N_("in grace period (late fee)"),
    "lapsed": N_("lapsed unless restored"),
}
#: the office's fees other than annual ones (``reference/patent_office_fees.csv``)
OFFICE_FEES: dict[str, str] = {"restoration-request": N_("restoration request fee")}
#: Implementing Rules Art. 115: "每超过规定的缴费时间1个月，加收当年全额年费的5%" (confirmed)
LATE_FEE_PERCENT_PER_MONTH = Decimal(5)


# ---------------------------------------------------------------------------- deadlines
@dataclass(frozen=True)
class Deadline:
    due_on: date
    kind: str
    asset_id: int
    asset_external_id: str
    asset_title: str
    owner_org_id: int
    owner_name: str
    rule_id: str | None
    source_zh: str
    source_en: str
    unconfirmed: bool
    patent_year: int | None = None
    amount: Decimal | None = None
    grace_until: date | None = None
    office_action_id: int | None = None
    reference: str | None = None
    state: str | None = None  # a key of STATES, for an annual fee past its due day
    late_fee: Decimal | None = None  # owed on the first day of the window
    # an annual fee under a fee reduction (费减): the schedule's fee and the reduction's row
    full_amount: Decimal | None = None
    reduction: ReductionRow | None = None
    # an office action answered with a fee (a restoration request): the fee's row
    fee: OfficeFeeRow | None = None
    # an office action whose period was extended (Art. 6(4)): the due day before it
    extended_from: date | None = None

    @property
    def uid(self) -> str:
        """Stable across exports, so a calendar program updates rather than duplicates."""
        tail = self.office_action_id if self.office_action_id else self.due_on.isoformat()
        return f"{self.kind}-{self.asset_external_id}-{tail}@shelfbridge"

    def source(self, language: str | None = None) -> str:
        chosen = language or current_language.get()
        return self.source_en if chosen == "en" else self.source_zh

    def summary(self, language: str | None = None) -> str:
        label = translate(KINDS[self.kind], language)
        if self.patent_year is not None:
            year = translate(N_("patent year {year}"), language).format(year=self.patent_year)
            label = f"{label} ({year})"
        if self.state:
            label = f"{label}, {translate(STATES[self.state], language)}"
        return f"{label}: {self.asset_title}"


def _base(
    asset: IpAsset, rule: PeriodRule | None, **extra: Any
) -> dict[str, Any]:  # the fields every deadline of an asset shares
    return {
        "asset_id": asset.id,
        "asset_external_id": asset.external_id,
        "asset_title": asset.title,
        "owner_org_id": asset.owner_org_id,
        "owner_name": asset.owner.name if asset.owner else "",
        "rule_id": rule.id if rule else None,
        "source_zh": rule.source_zh if rule else "",
        "source_en": rule.source_en if rule else "",
        "unconfirmed": rule.unconfirmed if rule else False,
        **extra,
    }


def months_late(due_on: date, paid_on: date) -> int:
    """Whole months by which a payment passed its due day (Art. 115 "每超过…1个月"): none
    up to and including the same day a month later (Art. 5 counts months that way)."""
    months = 0
    while paid_on > rules.add_months(due_on, months + 1):
        months += 1
    return months


def late_fee(full_fee: Decimal, due_on: date, paid_on: date) -> Decimal:
    """5% of the year's full fee per whole month late, exact to the fen."""
    percent = LATE_FEE_PERCENT_PER_MONTH * months_late(due_on, paid_on)
    return (full_fee * percent / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _annual_fees(
    asset: IpAsset,
    start: date,
    end: date,
    book: DeadlineBook,
    paid: Collection[int] | None,
) -> list[Deadline]:
    patent_type = PATENT_TYPE_OF.get(asset.kind)
    if patent_type is None or asset.filed_on is None or asset.status not in IN_FORCE:
        return []
    term = book.term_years(patent_type, asset.filed_on)
    grace = book.period("annual-fee", patent_type)
    tracked_from = asset.created_at.date() if asset.created_at is not None else None
    granted = first_fee_year(asset)
    found = []
    for year in range(granted + 1, (term or 20) + 1):
        due = rules.add_months(asset.filed_on, 12 * (year - 1))
        if due > end:
            break
        if paid is not None and year in paid:
            continue
        grace_until = (
            rules.add_months(due, grace.grace_months) if grace and grace.grace_months else None
        )
        state = None
        if due < start:
            if paid is None or grace_until is None:
                continue
            if tracked_from is not None and grace_until < tracked_from:
                continue
            state = "grace" if start <= grace_until else "lapsed"
        fee = book.fee(patent_type, year, asset.filed_on)
        rule: PeriodRule | None = fee or grace
        payable = book.payable(fee, asset.fee_reduction, year, granted, due) if fee else None
        item = Deadline(
            due_on=due,
            kind="annual-fee",
            patent_year=year,
            amount=payable.amount if payable else None,
            grace_until=grace_until,
            state=state,
            late_fee=late_fee(payable.full, due, start) if payable and state == "grace" else None,
            full_amount=payable.full if payable and payable.reduction else None,
            reduction=payable.reduction if payable else None,
            **{**_base(asset, rule), "unconfirmed": payable is None or payable.unconfirmed},
        )
        if state == "lapsed":
            # The patent ended with the first year left unpaid; later years are moot.
            return [item]
        found.append(item)
    return found


def first_fee_year(asset: IpAsset) -> int:
    """The patent year of the grant, whose fee is paid on registration (Art. 114)."""
    if asset.filed_on is None or asset.granted_on is None:
        return 1
    return _patent_year(asset.filed_on, asset.granted_on)


def _patent_year(filed_on: date, day: date) -> int:
    """Which patent year (1, 2, …, counted from the filing day) a day falls in."""
    year = 1
    while rules.add_months(filed_on, 12 * year) <= day:
        year += 1
    return year


def asset_deadlines(
    asset: IpAsset,
    start: date,
    end: date,
    office_actions: Iterable[IpOfficeAction] = (),
    book: DeadlineBook | None = None,
    paid_years: Collection[int] | None = None,
) -> list[Deadline]:
    """Every deadline of one asset that falls between two days (both included). Given the
    patent years paid, paid years are left out and unpaid ones past their due day are listed
    in grace or as lapsed (see the module's docstring)."""
    book = book or builtin_book()
    found: list[Deadline] = []
    for action in office_actions:
        if action.responded_on is None and start <= action.due_on <= end:
            action_type = PATENT_TYPE_OF.get(asset.kind, "invention")
            # the rule named is the one whose period made an estimated day
            rule = book.response_period(action.kind, action_type) if action.due_estimated else None
            fee = book.action_fee(action.kind)
            found.append(
                Deadline(
                    due_on=action.due_on,
                    kind="office-action",
                    office_action_id=action.id,
                    reference=action.reference,
                    amount=fee.amount if fee else None,
                    fee=fee,  # its confidence is its own: ``unconfirmed`` is the day's
                    # the rule named made the day before the extension; the row says both
                    extended_from=action.extended_from,
                    **_base(asset, rule),
                )
            )
    patent_type = PATENT_TYPE_OF.get(asset.kind)
    if patent_type is None or asset.status not in ACTIVE:
        return sorted(found, key=lambda d: (d.due_on, d.kind))
    found.extend(_annual_fees(asset, start, end, book, paid_years))
    first = min((d for d in (asset.priority_on, asset.filed_on) if d), default=None)
    paris = book.period("paris-priority", patent_type)
    if first is not None and paris is not None:
        due = rules.add_months(first, paris.months)
        if start <= due <= end:
            found.append(Deadline(due_on=due, kind="paris-priority", **_base(asset, paris)))
    pct = book.period("pct-national-phase", patent_type)
    if asset.pct_filed_on is not None and pct is not None:
        origin = min(d for d in (asset.priority_on, asset.filed_on, asset.pct_filed_on) if d)
        due = rules.add_months(origin, pct.months)
        if start <= due <= end:
            grace = rules.add_months(origin, pct.grace_months) if pct.grace_months else None
            found.append(
                Deadline(
                    due_on=due,
                    kind="pct-national-phase",
                    grace_until=grace,
                    reference=asset.pct_application_number,
                    **_base(asset, pct),
                )
            )
    if asset.granted_on is not None and asset.status in IN_FORCE:
        try:
            reward = rules.grant_reward(
                patent_type, asset.granted_on, asset.unit_type, asset.jurisdiction
            )
        except BadRequest:
            reward = None
        if reward is not None and reward.pay_by and start <= reward.pay_by <= end:
            base = _base(asset, None)
            base.update(
                rule_id=reward.rule.id,
                source_zh=reward.rule.source_zh,
                source_en=reward.rule.source_en,
                unconfirmed=reward.rule.unconfirmed,
            )
            found.append(
                Deadline(due_on=reward.pay_by, kind="grant-reward", amount=reward.amount, **base)
            )
    return sorted(found, key=lambda d: (d.due_on, d.kind))


def parse_window(text: str) -> int:
    """``90d``, ``12w``, ``6m`` or a plain number of days → days."""
    cleaned = text.strip().lower()
    factor = {"d": 1, "w": 7, "m": 31, "y": 366}.get(cleaned[-1:])
    number = cleaned[:-1] if factor else cleaned
    if not number.isdigit() or int(number) < 1:
        raise BadRequest(N_("“{value}” is not a period such as 90d, 12w or 6m."), value=text)
    days = int(number) * (factor or 1)
    if days > MAX_WINDOW_DAYS:
        raise BadRequest(N_("Look at most {days} days ahead."), days=MAX_WINDOW_DAYS)
    return days


def upcoming(
    session: Session,
    start: date,
    days: int,
    *,
    owner_org_id: int | None = None,
) -> list[Deadline]:
    """The deadlines of the assets the caller manages (the platform: all), from ``start`` for
    ``days`` days, soonest first."""
    end = start + timedelta(days=days)
    statement = (
        select(IpAsset)
        .where(IpAsset.status.in_(ACTIVE), repository.managed_clause(IpAsset))
        .options(selectinload(IpAsset.owner))
        .order_by(IpAsset.id)
    )
    if owner_org_id is not None:
        statement = statement.where(IpAsset.owner_org_id == owner_org_id)
    assets = list(session.scalars(statement))
    actions: dict[int, list[IpOfficeAction]] = {}
    if assets:
        for action in session.scalars(
            select(IpOfficeAction).where(
                IpOfficeAction.asset_id.in_([a.id for a in assets]),
                IpOfficeAction.responded_on.is_(None),
                repository.managed_clause(IpOfficeAction),
            )
        ):
            actions.setdefault(action.asset_id, []).append(action)
    found: list[Deadline] = []
    book = builtin_book()
    paid = paid_years(session, [a.id for a in assets])
    for asset in assets:
        found.extend(
            asset_deadlines(
                asset, start, end, actions.get(asset.id, ()), book, paid.get(asset.id, set())
            )
        )
    return sorted(found, key=lambda d: (d.due_on, d.owner_name, d.asset_external_id, d.kind))


def paid_years(session: Session, asset_ids: list[int]) -> dict[int, set[int]]:
    """The patent years paid, per asset (of those the caller manages)."""
    found: dict[int, set[int]] = {}
    for chunk in range(0, len(asset_ids), 500):
        statement = select(IpFeePayment.asset_id, IpFeePayment.patent_year).where(
            IpFeePayment.asset_id.in_(asset_ids[chunk : chunk + 500]),
            repository.managed_clause(IpFeePayment),
        )
        for asset_id, year in session.execute(statement):
            found.setdefault(asset_id, set()).add(year)
    return found


# ---------------------------------------------------------------------------- plain data
def as_dict(deadline: Deadline) -> dict[str, Any]:
    """A deadline as the JSON output, the API and the pages show it."""
    return {
        "due_on": deadline.due_on.isoformat(),
        "kind": deadline.kind,
        "kind_label": translate(KINDS[deadline.kind]),
        "summary": deadline.summary(),
        "asset_id": deadline.asset_id,
        "asset_external_id": deadline.asset_external_id,
        "asset_title": deadline.asset_title,
        "owner_org_id": deadline.owner_org_id,
        "owner_name": deadline.owner_name,
        "patent_year": deadline.patent_year,
        "amount": _money(deadline.amount),
        "grace_until": deadline.grace_until.isoformat() if deadline.grace_until else None,
        "reference": deadline.reference,
        "rule": deadline.rule_id,
        "source": deadline.source(),
        "unconfirmed": deadline.unconfirmed,
        "state": deadline.state,
        "state_label": translate(STATES[deadline.state]) if deadline.state else None,
        "late_fee": _money(deadline.late_fee),
        # under a fee reduction (费减): the schedule's fee, the share waived and its rule
        "full_amount": _money(deadline.full_amount),
        "reduction_percent": reduction_percent(deadline),
        "reduction_rule": deadline.reduction.id if deadline.reduction else None,
        # an office action answered with a fee: which fee, and its rule
        "fee": deadline.fee.fee if deadline.fee else None,
        "fee_label": translate(OFFICE_FEES[deadline.fee.fee]) if deadline.fee else None,
        "fee_rule": deadline.fee.id if deadline.fee else None,
        "fee_source": deadline.fee.source() if deadline.fee else None,
        "fee_unconfirmed": deadline.fee.unconfirmed if deadline.fee else None,
        "extended_from": deadline.extended_from.isoformat() if deadline.extended_from else None,
    }


def reduction_percent(deadline: Deadline) -> str | None:
    """The share of the fee waived, as people write it ("85", "70")."""
    return f"{deadline.reduction.percent.normalize():f}" if deadline.reduction else None


def _money(value: Decimal | None) -> str | None:
    return f"{value:.2f}" if value is not None else None

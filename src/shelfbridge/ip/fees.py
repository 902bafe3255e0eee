"""Annual-fee payments of patents: record, list and delete them. Never commits.

Only the owning unit's officers and admins (``ip.manage``) and the platform see or change
payments; an asset or payment the caller may not see is a 404, as if it did not exist.

What a payment may be (every refusal changes nothing):

- for a patent in force (granted or maintained) with a filing day (409 otherwise);
- for a patent year from the year of grant (its fee is paid on registration, Implementing
  Rules Art. 114; Patent Law Art. 43) to the last year of the term (Art. 42);
- paid no earlier than the advance window before the due day (``PIR-115-ADVANCE``, an
  unconfirmed reading of Art. 115), not in the future, and no later than the end of the
  6 months' grace (Art. 115) unless the right was restored (Art. 6);
- once per year (``UNIQUE (asset_id, patent_year)``, 409).

The expected fee is the schedule's (``patent_annual_fees.csv``, unconfirmed as the file marks
it), less the fee reduction (费减) the asset holds for the years it covers
(``patent_fee_reductions.csv``); a payment in the grace period owes 5% of the schedule's full
fee per whole month late (Art. 115), reduced or not.
A late fee given is recorded as given; one left out is the computed one, or zero when the
schedule has no figure (then the payment is marked unconfirmed). Paying a year after the
grant year moves a granted asset to *maintained* through the lifecycle
(``service.transition``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shelfbridge.core.errors import Conflict, NotFound
from shelfbridge.core.i18n import N_, translate
from shelfbridge.ip import deadline_rules, deadlines, repository, rules, service
from shelfbridge.ip.fee_models import IpFeePayment
from shelfbridge.ip.inputs import Fields
from shelfbridge.ip.models import ASSET_STATUSES, PATENT_TYPE_OF, IpAsset

ADVANCE_RULE = "PIR-115-ADVANCE"
DUPLICATE = N_("The fee of patent year {year} was already recorded, paid on {day}.")


@dataclass(frozen=True)
class FeeTerms:
    """When the fee of one patent year is due and what the rules expect for it."""

    patent_year: int
    due_on: date
    payable_from: date
    grace_until: date | None  # None for the grant year: no grace at registration
    expected_fee: Decimal | None  # less the fee reduction (费减) the asset holds, if any
    full_fee: Decimal | None  # the schedule's: the base of a late fee
    fee_rule_id: str | None  # the schedule's row, and the reduction's after a "+"
    unconfirmed: bool


def _in_force(asset: IpAsset) -> tuple[str, date]:
    patent_type = PATENT_TYPE_OF.get(asset.kind)
    if patent_type is None or asset.filed_on is None:
        raise Conflict(N_("Annual fees are paid only for patents with a filing day."))
    if asset.status not in deadlines.IN_FORCE:
        raise Conflict(
            N_("Annual fees are recorded only while a patent is in force; this one is {status}."),
            status=translate(ASSET_STATUSES[asset.status]),
        )
    return patent_type, asset.filed_on


def fee_terms(asset: IpAsset, year: int, fields: Fields | None = None) -> FeeTerms | None:
    """The terms of one year, or None (with a problem on ``patent_year``) when the year is
    outside the fees of this patent."""
    patent_type, filed_on = _in_force(asset)
    fields = fields or Fields({})
    book = deadline_rules.builtin_book()
    first = deadlines.first_fee_year(asset)
    last = book.term_years(patent_type, filed_on) or 20
    if not first <= year <= last:
        fields.problem(
            "patent_year",
            N_("This patent pays annual fees for patent years {first} to {last}."),
            first=first,
            last=last,
        )
        return None
    anniversary = rules.add_months(filed_on, 12 * (year - 1))
    grace = book.period("annual-fee", patent_type)
    advance = next((r for r in book.periods if r.id == ADVANCE_RULE), None)
    advance_months = advance.months if advance else 12
    # The grant year's fee is due with the registration, at the grant; no year is payable
    # before the grant year is.
    registered = asset.granted_on or anniversary
    opens = rules.add_months(registered, -advance_months)
    grace_until = None
    if year == first:
        due = registered
    else:
        due = anniversary
        if grace and grace.grace_months:
            grace_until = rules.add_months(due, grace.grace_months)
    fee = book.fee(patent_type, year, filed_on)
    payable = book.payable(fee, asset.fee_reduction, year, first, due) if fee else None
    return FeeTerms(
        patent_year=year,
        due_on=due,
        payable_from=max(rules.add_months(due, -advance_months), opens),
        grace_until=grace_until,
        expected_fee=payable.amount if payable else None,
        full_fee=payable.full if payable else None,
        fee_rule_id=payable.rule_ids if payable else None,
        unconfirmed=payable is None or payable.unconfirmed,
    )


def _managed_asset(session: Session, asset_id: int) -> IpAsset:
    asset = repository.get_asset(session, asset_id)
    if asset is None:
        raise NotFound("ip_assets")
    service.require_manager(asset.owner_org_id)
    return asset


def payments_of(session: Session, asset_id: int) -> list[IpFeePayment]:
    """The payments of an asset the caller manages, by patent year."""
    _managed_asset(session, asset_id)
    statement = (
        select(IpFeePayment)
        .where(IpFeePayment.asset_id == asset_id, repository.managed_clause(IpFeePayment))
        .order_by(IpFeePayment.patent_year)
    )
    return list(session.scalars(statement))


def record_payment(
    session: Session, asset_id: int, raw: Mapping[str, Any], today: date | None = None
) -> IpFeePayment:
    """Record the fee of one patent year as paid; every problem is told at once."""
    asset = _managed_asset(session, asset_id)
    today = today or date.today()
    fields = Fields(raw)
    year = fields.whole("patent_year", required=True, maximum=30)
    amount = fields.yuan("amount", required=True)
    paid_on = fields.day("paid_on", required=True)
    given_late_fee = fields.yuan("late_fee")
    restored = fields.flag("restored")
    reference = fields.text("reference", max_length=60)
    note = fields.text("note", max_length=300)
    if amount is not None and amount <= 0:
        fields.problem("amount", N_("The amount paid must be more than zero."))
    terms = fee_terms(asset, year, fields) if year is not None else None
    late = False
    if terms is not None and paid_on is not None:
        _check_day(fields, terms, paid_on, today, restored)
        late = terms.grace_until is not None and paid_on > terms.due_on
        if not late and given_late_fee:
            fields.problem("late_fee", N_("No late fee is owed for a payment made by the due day."))
    fields.done()
    assert year is not None and amount is not None and paid_on is not None and terms
    existing = session.scalars(
        select(IpFeePayment).where(
            IpFeePayment.asset_id == asset.id, IpFeePayment.patent_year == year
        )
    ).first()
    if existing is not None:
        raise Conflict(DUPLICATE, year=year, day=existing.paid_on.isoformat())
    expected_late: Decimal | None = Decimal("0.00")
    if late and terms.grace_until is not None:
        # After restoration the late fee of the whole grace period (the formalities and the
        # restoration fee of Art. 6 are not computed here).
        last = min(paid_on, terms.grace_until)
        fee = terms.full_fee
        expected_late = deadlines.late_fee(fee, terms.due_on, last) if fee is not None else None
    payment = IpFeePayment(
        owner_org_id=asset.owner_org_id,
        asset_id=asset.id,
        patent_year=year,
        due_on=terms.due_on,
        paid_on=paid_on,
        amount=amount,
        late_fee=given_late_fee if given_late_fee is not None else (expected_late or Decimal(0)),
        expected_fee=terms.expected_fee,
        expected_late_fee=expected_late,
        fee_rule_id=terms.fee_rule_id,
        unconfirmed=terms.unconfirmed or (late and expected_late is None) or restored,
        restored=restored,
        reference=reference,
        note=note,
    )
    session.add(payment)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # A concurrent request recorded the same year first.
        raise Conflict(DUPLICATE, year=year, day=paid_on.isoformat()) from None
    keeps_in_force = year > deadlines.first_fee_year(asset) and asset.status == "granted"
    if keeps_in_force and "maintained" in service.allowed_transitions(asset):
        service.transition(session, asset.id, "maintained", max(paid_on, asset.status_on))
    return payment


def _check_day(fields: Fields, terms: FeeTerms, paid_on: date, today: date, restored: bool) -> None:
    if paid_on > today:
        fields.problem("paid_on", N_("A payment is recorded once made: not after today."))
    elif paid_on < terms.payable_from:
        fields.problem(
            "paid_on",
            N_("The fee of patent year {year} is due on {due}; it can be paid from {first}."),
            year=terms.patent_year,
            due=terms.due_on.isoformat(),
            first=terms.payable_from.isoformat(),
        )
    elif terms.grace_until is not None and paid_on > terms.grace_until and not restored:
        fields.problem(
            "paid_on",
            N_(
                "The grace period of patent year {year} ended on {day}: the patent lapsed "
                "unless the right was restored (Implementing Rules Art. 6). Record a payment "
                "after restoration as restored."
            ),
            year=terms.patent_year,
            day=terms.grace_until.isoformat(),
        )


def delete_payment(session: Session, payment_id: int) -> int:
    """Delete a payment recorded in error; answers the asset's id."""
    payment = repository.managed_or_missing(session, IpFeePayment, payment_id)
    service.require_manager(payment.owner_org_id)
    asset_id = payment.asset_id
    session.delete(payment)
    session.flush()
    return asset_id


def as_dict(payment: IpFeePayment) -> dict[str, Any]:
    def money(value: Decimal | None) -> str | None:
        return f"{value:.2f}" if value is not None else None

    return {
        "id": payment.id,
        "asset_id": payment.asset_id,
        "patent_year": payment.patent_year,
        "due_on": payment.due_on.isoformat(),
        "paid_on": payment.paid_on.isoformat(),
        "late": payment.paid_on > payment.due_on,
        "amount": money(payment.amount),
        "late_fee": money(payment.late_fee),
        "expected_fee": money(payment.expected_fee),
        "expected_late_fee": money(payment.expected_late_fee),
        "fee_rule": payment.fee_rule_id,
        "unconfirmed": payment.unconfirmed,
        "restored": payment.restored,
        "reference": payment.reference,
        "note": payment.note,
    }

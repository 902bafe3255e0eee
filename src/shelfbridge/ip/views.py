"""The IP ledger as plain data: what the API answers and the pages and the PDF show.

Labels are translated in the current language; money is decimal text (``"63000.00"``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shelfbridge.core.i18n import translate
from shelfbridge.core.money import format_yuan
from shelfbridge.ip import rules
from shelfbridge.ip.distribution import Statement, rule_source
from shelfbridge.ip.models import (
    ASSET_KINDS,
    ASSET_STATUSES,
    CONTRACT_TYPES,
    DEAL_STATUSES,
    DEAL_TYPES,
    DISTRIBUTION_STATUSES,
    FEE_REDUCTIONS,
    LICENCE_SCOPES,
    OFFICE_ACTION_DELIVERIES,
    OFFICE_ACTION_KINDS,
    PAYMENT_MODES,
    PRICE_MODES,
    Deal,
    Distribution,
    IncomeRecord,
    IpAsset,
    IpOfficeAction,
    RewardPolicy,
)
from shelfbridge.ip.office_actions import extension_fee, extension_rule, received_day
from shelfbridge.ip.service import allowed_transitions


def _label(vocabulary: dict[str, str], code: str | None) -> str | None:
    return translate(vocabulary[code]) if code in vocabulary else None


def _day(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _percent(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def asset(record: IpAsset, *, weights: bool) -> dict[str, Any]:
    """An asset; contributors' weights only for those who manage the ledger."""
    return {
        "id": record.id,
        "external_id": record.external_id,
        "owner_org_id": record.owner_org_id,
        "owner_name": record.owner.name if record.owner else None,
        "result_id": record.result_id,
        "kind": record.kind,
        "kind_label": _label(ASSET_KINDS, record.kind),
        "title": record.title,
        "application_number": record.application_number,
        "filed_on": _day(record.filed_on),
        "granted_on": _day(record.granted_on),
        "priority_on": _day(record.priority_on),
        "pct_application_number": record.pct_application_number,
        "pct_filed_on": _day(record.pct_filed_on),
        "jurisdiction": record.jurisdiction,
        "jurisdiction_name": rules.jurisdiction_name(record.jurisdiction),
        "unit_type": record.unit_type,
        "unit_type_label": _label(rules.UNIT_TYPES, record.unit_type),
        "fee_reduction": record.fee_reduction,
        "fee_reduction_label": _label(FEE_REDUCTIONS, record.fee_reduction),
        "status": record.status,
        "status_label": _label(ASSET_STATUSES, record.status),
        "status_on": _day(record.status_on),
        "next_statuses": [
            {"status": s, "label": _label(ASSET_STATUSES, s)} for s in allowed_transitions(record)
        ],
        "contributors": [
            {
                "name": c.name,
                "person_id": c.person_id,
                "main": c.main,
                "weight": f"{c.weight.normalize():f}" if weights else None,
            }
            for c in record.contributors
        ],
    }


def office_action(record: IpOfficeAction) -> dict[str, Any]:
    return {
        "id": record.id,
        "asset_id": record.asset_id,
        "kind": record.kind,
        "kind_label": _label(OFFICE_ACTION_KINDS, record.kind),
        "issued_on": _day(record.issued_on),
        "delivery": record.delivery,
        "delivery_label": _label(OFFICE_ACTION_DELIVERIES, record.delivery),
        # the day the period runs from: as shown by the party, else as the rules presume it
        "received_on": _day(record.received_on or received_day(record.delivery, record.issued_on)),
        "received_presumed": record.received_on is None,
        "due_on": _day(record.due_on),
        "due_estimated": record.due_estimated,
        **_extension(record),
        "responded_on": _day(record.responded_on),
        "reference": record.reference,
        "note": record.note,
    }


def _extension(record: IpOfficeAction) -> dict[str, Any]:
    """The extension of a notice's period (Art. 6(4)): what was granted, and what may be."""
    fee = extension_fee(record)
    rule = extension_rule(record)
    open_to_it = record.responded_on is None and record.extended_from is None
    return {
        "extended_from": _day(record.extended_from),
        "extended_months": record.extended_months,
        "extension_requested_on": _day(record.extension_requested_on),
        "extension_fee": f"{fee.amount:.2f}" if fee else None,
        "extension_fee_rule": fee.rule_ids if fee else None,
        "extension_fee_unconfirmed": fee.unconfirmed if fee else None,
        # the longest extension still open to request (None: not extendable now)
        "extendable_months": rule.months if rule is not None and open_to_it else None,
    }


def deal(record: Deal) -> dict[str, Any]:
    return {
        "id": record.id,
        "external_id": record.external_id,
        "asset_id": record.asset_id,
        "deal_type": record.deal_type,
        "deal_type_label": _label(DEAL_TYPES, record.deal_type),
        "contract_type": record.contract_type,
        "contract_type_label": _label(CONTRACT_TYPES, record.contract_type),
        "counterparty_org_id": record.counterparty_org_id,
        "counterparty_name": record.counterparty_name,
        "licence_scope": record.licence_scope,
        "licence_scope_label": _label(LICENCE_SCOPES, record.licence_scope),
        "term_start": _day(record.term_start),
        "term_end": _day(record.term_end),
        "territory": record.territory,
        "field_of_use": record.field_of_use,
        "price": format_yuan(record.price) or None,
        "equity_shares": record.equity_shares,
        "payment_mode": record.payment_mode,
        "payment_mode_label": _label(PAYMENT_MODES, record.payment_mode),
        "price_mode": record.price_mode,
        "price_mode_label": _label(PRICE_MODES, record.price_mode),
        "posting_start": _day(record.posting_start),
        "posting_end": _day(record.posting_end),
        "status": record.status,
        "status_label": _label(DEAL_STATUSES, record.status),
        "contract_number": record.contract_number,
        "signed_on": _day(record.signed_on),
        "registered_on": _day(record.registered_on),
        "registration_number": record.registration_number,
    }


def income(record: IncomeRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "external_id": record.external_id,
        "deal_id": record.deal_id,
        "asset_id": record.asset_id,
        "mode": record.mode,
        "mode_label": _label(rules.MODES, record.mode),
        "received_on": _day(record.received_on),
        "amount": format_yuan(record.amount),
        "shares": record.shares,
        "costs": format_yuan(record.costs),
        "net": format_yuan(record.net),
        "jurisdiction": record.jurisdiction,
        "deductions": [
            {
                "kind": d.kind,
                "label": _label(rules.DEDUCTIONS, d.kind),
                "amount": format_yuan(d.amount),
                "allowed": d.allowed,
                "rule_id": d.rule_id,
                "note": d.note,
            }
            for d in record.deductions
        ],
        "note": record.note,
    }


def rule_entry(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rule["id"],
        "jurisdiction": rule["jurisdiction"],
        "measure": rule["measure"],
        "measure_label": _label(rules.MEASURES, rule["measure"]),
        "floor_percent": rule["floor_percent"],
        "force": rule["force"],
        "force_label": _label(rules.FORCES, rule["force"]),
        "applied": rule["applied"],
        "overridden_by": rule["overridden_by"],
        "unconfirmed": rule["unconfirmed"],
        "source": rule_source(rule),
    }


def distribution(record: Distribution, *, lines: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record.id,
        "income_record_id": record.income_record_id,
        "asset_id": record.asset_id,
        "basis": record.basis,
        "percent": _percent(record.percent),
        "pool": format_yuan(record.pool),
        "retained": format_yuan(record.retained),
        "pool_shares": record.pool_shares,
        "retained_shares": record.retained_shares,
        "rules": [rule_entry(rule) for rule in record.rules],
        "warnings": list(record.warnings),
        "status": record.status,
        "status_label": _label(DISTRIBUTION_STATUSES, record.status),
        "second_approval": record.second_approval,
        "requested_by": record.requested_by,
        "approved_by": record.approved_by,
        "approved_at": record.approved_at.isoformat() if record.approved_at else None,
        "paid_at": record.paid_at.isoformat() if record.paid_at else None,
    }
    if lines:
        data["lines"] = [
            {
                "name": line.name,
                "person_id": line.person_id,
                "weight": f"{line.weight.normalize():f}",
                "main": line.main,
                "amount": format_yuan(line.amount),
                "shares": line.shares,
            }
            for line in record.lines
        ]
    return data


def policy(record: RewardPolicy) -> dict[str, Any]:
    return {
        "id": record.id,
        "owner_org_id": record.owner_org_id,
        "title": record.title,
        "jurisdiction": record.jurisdiction,
        "unit_type": record.unit_type,
        "effective_from": _day(record.effective_from),
        "net_income_percent": _percent(record.net_income_percent),
        "equity_percent": _percent(record.equity_percent),
        "main_contributors_percent": _percent(record.main_contributors_percent),
    }


def statement(found: Statement) -> dict[str, Any]:
    """A contributor's statement: only their own payouts, never another contributor's."""
    return {
        "person_id": found.person_id,
        "name": found.name,
        "date": found.on.isoformat(),
        "assets": [
            {
                "id": a.id,
                "external_id": a.external_id,
                "title": a.title,
                "kind_label": _label(ASSET_KINDS, a.kind),
                "status_label": _label(ASSET_STATUSES, a.status),
                "owner_name": a.owner.name if a.owner else None,
            }
            for a in found.assets
        ],
        "entries": [
            {
                "asset_id": e.asset.id,
                "asset_title": e.asset.title,
                "income": income(e.income),
                "distribution": distribution(e.distribution, lines=False)
                if e.distribution
                else None,
                "payout": format_yuan(e.amount),
                "payout_shares": e.shares if e.income.shares is not None else None,
            }
            for e in found.entries
        ],
        "totals": {
            "requested": format_yuan(found.total("requested")),
            "approved": format_yuan(found.total("approved")),
            "paid": format_yuan(found.total("paid")),
            "shares_paid": found.total_shares("paid"),
        },
    }

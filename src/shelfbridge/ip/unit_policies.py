"""A unit's own reward policies as the API and the pages read them: a page of the caller's
units' policies, one policy, the policy in force on a day, and the floors beside them.

Writing a policy stays in :func:`shelfbridge.ip.service.set_policy`; this module only reads.
Who reads: the owner's officers and admins (``ip.manage``) and the platform, through
``repository.managed_clause``, so another unit's policy is a 404 exactly like a missing one.

The floors are the rows of ``reward_rules.csv`` for the measures a policy sets, along the
unit's jurisdiction chain, whatever their force: a binding one refuses a lower policy, a
default or a permitted standard ("may") does not, and the page says which is which."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from shelfbridge.core.errors import BadRequest
from shelfbridge.core.i18n import translate
from shelfbridge.ip import repository, rules, service, views
from shelfbridge.ip.models import RewardPolicy
from shelfbridge.registry.models import Organization

# The measures a stored policy can set (its three percentage columns), in display order.
MEASURES = tuple(service.POLICY_FIELDS)


def page(
    session: Session,
    *,
    owner_org_id: int | None = None,
    in_force_on: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[RewardPolicy], int]:
    """One page of the policies the caller manages, latest first, and their number.
    ``in_force_on`` keeps, per unit, only the policy in force that day."""
    where = [repository.managed_clause(RewardPolicy)]
    if owner_org_id is not None:
        where.append(RewardPolicy.owner_org_id == owner_org_id)
    if in_force_on is not None:
        # A policy is in force from its day until the unit's next one takes effect.
        earlier = aliased(RewardPolicy)
        latest = (
            select(func.max(earlier.effective_from))
            .where(
                earlier.owner_org_id == RewardPolicy.owner_org_id,
                earlier.effective_from <= in_force_on,
            )
            .scalar_subquery()
        )
        where.append(RewardPolicy.effective_from == latest)
    total = session.scalar(select(func.count(RewardPolicy.id)).where(*where)) or 0
    statement = (
        select(RewardPolicy)
        .where(*where)
        .order_by(RewardPolicy.effective_from.desc(), RewardPolicy.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(statement)), int(total)


def get(session: Session, ident: int) -> RewardPolicy:
    return repository.managed_or_missing(session, RewardPolicy, ident)


def in_force(policies: Sequence[RewardPolicy], on: date) -> RewardPolicy | None:
    """Of one unit's policies, the one in force on a day (the latest to take effect by then)."""
    started = [p for p in policies if p.effective_from <= on]
    return max(started, key=lambda p: p.effective_from) if started else None


def unit_case(org: Organization, current: RewardPolicy | None) -> tuple[str, str | None]:
    """The jurisdiction and unit type whose floors bind the unit: those its policy in force
    names, else what ``service.set_policy`` would assume (the owner's province, a unit type
    from its kind; None where the kind gives none)."""
    if current is not None:
        return current.jurisdiction, current.unit_type
    jurisdiction = rules.NATIONAL
    # A region the reference data does not know: the national rules still bind.
    if org.region_code:
        with suppress(BadRequest):
            jurisdiction = rules.normalize_jurisdiction(org.region_code[:2] + "0000")
    return jurisdiction, service.DEFAULT_UNIT_TYPES.get(org.kind)


def floor_view(rule: rules.RewardRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "measure": rule.measure,
        "measure_label": translate(rules.MEASURES[rule.measure]),
        "floor_percent": f"{rule.floor_percent.normalize():f}" if rule.floor_percent else None,
        "floor": rule.floor_text(),
        "force": rule.force,
        "force_label": translate(rules.FORCES[rule.force]),
        "binding": rule.binding,
        "jurisdiction": rule.jurisdiction,
        "jurisdiction_name": rules.jurisdiction_name(rule.jurisdiction),
        "effective_from": rule.effective_from.isoformat(),
        "source": rule.source(),
        "unconfirmed": rule.unconfirmed,
    }


def floors(jurisdiction: str, unit_type: str, on: date) -> list[dict[str, Any]]:
    """Every floor of the policy measures in force for the case, most specific jurisdiction
    first; binding national floors stay listed under a local rule, since they still bind."""
    book = rules.builtin_rule_book()
    found = [
        floor_view(rule)
        for code in rules.jurisdiction_chain(jurisdiction)
        for rule in book.by_jurisdiction.get(code, ())
        if rule.measure in MEASURES and unit_type in rule.unit_types and rule.in_force(on)
    ]
    return sorted(found, key=lambda f: MEASURES.index(f["measure"]))


def view(record: RewardPolicy, *, detail: bool = False) -> dict[str, Any]:
    """A policy with what the floors say of it today: ``notes`` for standards it falls below
    that do not bind the unit, ``below_binding`` should the rules have risen since it was set
    (it was checked then). ``detail`` adds every floor of its case on its first day."""
    data = views.policy(record)
    data["jurisdiction_name"] = rules.jurisdiction_name(record.jurisdiction)
    data["unit_type_label"] = translate(rules.UNIT_TYPES[record.unit_type])
    checked = rules.check_policy(
        record.jurisdiction,
        record.unit_type,
        record.effective_from,
        service.policy_percents(record),
    )
    data["notes"] = [finding.message() for finding in checked.notes]
    data["below_binding"] = [finding.message() for finding in checked.refusals]
    if detail:
        data["floors"] = floors(record.jurisdiction, record.unit_type, record.effective_from)
    return data


__all__ = ["MEASURES", "floors", "get", "in_force", "page", "unit_case", "view"]

"""Queries of the IP ledger, each filtered by who is asking. No rules, no writes.

Who reads what (the SQL twin of the row-level security policies of migration 0006, and
narrower: the database lets every actor of the owner read the ledger, the application only
those holding ``ip.manage``):

- assets (and their contributors' names): the owner's members who read internal records, and
  the asset's own contributors;
- deals, reward policies, income records and distributions: the owner's officers and admins
  (``ip.manage``);
- a contributor reaches income, distributions and their own distribution lines only through
  :func:`statement_rows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Select, exists, false, or_, select, true
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from shelfbridge.accounts import visibility
from shelfbridge.accounts.actor import Actor, current_actor
from shelfbridge.core.database import Base
from shelfbridge.core.errors import NotFound
from shelfbridge.ip.models import (
    Deal,
    Distribution,
    DistributionLine,
    IncomeRecord,
    IpAsset,
    IpContributor,
    RewardPolicy,
)

MANAGE = "ip.manage"


def managed_orgs(actor: Actor | None = None) -> frozenset[int]:
    return (actor or current_actor.get()).orgs_with(MANAGE)


def asset_clause(actor: Actor | None = None) -> ColumnElement[bool]:
    """The assets the actor may see."""
    actor = actor or current_actor.get()
    if actor.is_unrestricted:
        return true()
    clauses: list[ColumnElement[bool]] = []
    members_of = actor.orgs_with(visibility.READ_INTERNAL)
    if members_of:
        clauses.append(IpAsset.owner_org_id.in_(members_of))
    if actor.person_id is not None:
        clauses.append(
            exists(
                select(IpContributor.id).where(
                    IpContributor.asset_id == IpAsset.id,
                    IpContributor.person_id == actor.person_id,
                )
            )
        )
    return or_(*clauses) if clauses else false()


def managed_clause(model: Any, actor: Actor | None = None) -> ColumnElement[bool]:
    """The rows of a ledger table (anything with ``owner_org_id``) the actor manages."""
    actor = actor or current_actor.get()
    if actor.is_unrestricted:
        return true()
    orgs = managed_orgs(actor)
    clause: ColumnElement[bool] = model.owner_org_id.in_(orgs) if orgs else false()
    return clause


# ---------------------------------------------------------------------------- assets
ASSET_LOAD = (selectinload(IpAsset.contributors), selectinload(IpAsset.owner))


def get_asset(session: Session, ident: int, *, for_update: bool = False) -> IpAsset | None:
    statement = select(IpAsset).where(IpAsset.id == ident, asset_clause()).options(*ASSET_LOAD)
    if for_update:
        statement = statement.with_for_update(of=IpAsset)
    return session.scalars(statement).first()


def list_assets(
    session: Session,
    *,
    owner_org_id: int | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[IpAsset]:
    statement = select(IpAsset).where(asset_clause()).options(*ASSET_LOAD)
    if owner_org_id is not None:
        statement = statement.where(IpAsset.owner_org_id == owner_org_id)
    if status:
        statement = statement.where(IpAsset.status == status)
    statement = statement.order_by(IpAsset.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(statement))


def asset_by_external_id(session: Session, external_id: str) -> IpAsset | None:
    statement = select(IpAsset).where(IpAsset.external_id == external_id, asset_clause())
    return session.scalars(statement).first()


# ---------------------------------------------------------------------------- the ledger
Row = TypeVar("Row", bound=Base)


def _managed(model: Any, ident: int, for_update: bool) -> Select[Any]:
    statement = select(model).where(model.id == ident, managed_clause(model))
    if for_update:
        statement = statement.with_for_update(of=model)
    return statement


def managed_or_missing(session: Session, model: type[Row], ident: int) -> Row:
    """A ledger row the actor manages, or the same 404 as a row that does not exist."""
    found: Row | None = session.scalars(_managed(model, ident, False)).first()
    if found is None:
        raise NotFound(str(model.__tablename__))
    return found


def get_deal(session: Session, ident: int, *, for_update: bool = False) -> Deal | None:
    statement = _managed(Deal, ident, for_update).options(selectinload(Deal.asset))
    return session.scalars(statement).first()


def deals_of_asset(session: Session, asset_id: int) -> list[Deal]:
    statement = (
        select(Deal).where(Deal.asset_id == asset_id, managed_clause(Deal)).order_by(Deal.id)
    )
    return list(session.scalars(statement))


def get_income(session: Session, ident: int, *, for_update: bool = False) -> IncomeRecord | None:
    statement = _managed(IncomeRecord, ident, for_update).options(
        selectinload(IncomeRecord.deductions),
        selectinload(IncomeRecord.asset).selectinload(IpAsset.contributors),
    )
    return session.scalars(statement).first()


def income_of_deal(session: Session, deal_id: int) -> list[IncomeRecord]:
    statement = (
        select(IncomeRecord)
        .where(IncomeRecord.deal_id == deal_id, managed_clause(IncomeRecord))
        .options(selectinload(IncomeRecord.deductions))
        .order_by(IncomeRecord.received_on, IncomeRecord.id)
    )
    return list(session.scalars(statement))


def distribution_of_income(session: Session, income_id: int) -> Distribution | None:
    """The distribution of an income record, whoever may see it (used to refuse a second one:
    the unique constraint decides in the end)."""
    statement = select(Distribution).where(Distribution.income_record_id == income_id)
    return session.scalars(statement).first()


def get_distribution(
    session: Session, ident: int, *, for_update: bool = False
) -> Distribution | None:
    statement = _managed(Distribution, ident, for_update).options(
        selectinload(Distribution.lines), selectinload(Distribution.income_record)
    )
    return session.scalars(statement).first()


def distributions_of(session: Session, income_ids: Sequence[int]) -> dict[int, Distribution]:
    if not income_ids:
        return {}
    statement = (
        select(Distribution)
        .where(Distribution.income_record_id.in_(income_ids), managed_clause(Distribution))
        .options(selectinload(Distribution.lines))
    )
    return {d.income_record_id: d for d in session.scalars(statement)}


def pending_distributions(session: Session, limit: int = 200) -> list[Distribution]:
    statement = (
        select(Distribution)
        .where(Distribution.status != "paid", managed_clause(Distribution))
        .options(selectinload(Distribution.lines))
        .order_by(Distribution.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


def policy_in_force(session: Session, owner_org_id: int, on: date) -> RewardPolicy | None:
    """The unit's own reward policy on a day: the latest that took effect by then. Read
    without the actor's filter: a distribution applies it whoever requests it."""
    statement = (
        select(RewardPolicy)
        .where(RewardPolicy.owner_org_id == owner_org_id, RewardPolicy.effective_from <= on)
        .order_by(RewardPolicy.effective_from.desc())
        .limit(1)
    )
    return session.scalars(statement).first()


def policies(session: Session, owner_org_id: int | None = None) -> list[RewardPolicy]:
    statement = select(RewardPolicy).where(managed_clause(RewardPolicy))
    if owner_org_id is not None:
        statement = statement.where(RewardPolicy.owner_org_id == owner_org_id)
    return list(session.scalars(statement.order_by(RewardPolicy.effective_from)))


# ---------------------------------------------------------------------------- statements
def statement_rows(
    session: Session, person_id: int, owner_orgs: frozenset[int] | None
) -> tuple[
    list[IpAsset],
    list[IncomeRecord],
    dict[int, Distribution],
    dict[int, list[DistributionLine]],
]:
    """One contributor's assets, their income records, distributions and the contributor's
    own distribution lines (never the others'). ``owner_orgs`` limits the assets to those
    owners (an officer reading a contributor's statement); None: every owner."""
    asset_filter = exists(
        select(IpContributor.id).where(
            IpContributor.asset_id == IpAsset.id, IpContributor.person_id == person_id
        )
    )
    query = select(IpAsset).where(asset_filter).options(*ASSET_LOAD).order_by(IpAsset.id)
    if owner_orgs is not None:
        query = query.where(IpAsset.owner_org_id.in_(owner_orgs))
    assets = list(session.scalars(query))
    asset_ids = [asset.id for asset in assets]
    if not asset_ids:
        return [], [], {}, {}
    income = list(
        session.scalars(
            select(IncomeRecord)
            .where(IncomeRecord.asset_id.in_(asset_ids))
            .options(selectinload(IncomeRecord.deductions))
            .order_by(IncomeRecord.received_on, IncomeRecord.id)
        )
    )
    distributions = {
        d.income_record_id: d
        for d in session.scalars(select(Distribution).where(Distribution.asset_id.in_(asset_ids)))
    }
    lines: dict[int, list[DistributionLine]] = {}
    if distributions:
        for line in session.scalars(
            select(DistributionLine)
            .where(
                DistributionLine.distribution_id.in_([d.id for d in distributions.values()]),
                DistributionLine.person_id == person_id,
            )
            .order_by(DistributionLine.position)
        ):
            lines.setdefault(line.distribution_id, []).append(line)
    return assets, income, distributions, lines

"""Reward distributions: the pool of one income record split among the asset's contributors,
its approval and payment, the ledger check and each contributor's statement. Never commits.

- **Distribute** (the owner's officers): the pool is the net income (or the shares) times the
  unit's own policy percentage when it has one in force on the day the income was received
  (checked again against every binding floor, ``ip.rules.check_policy``), else the floor of
  the most specific rule; rounded up to the fen or share, split with the one allocation
  function (``core.money.allocate`` through ``ip.calculator.simulate``). The rules considered
  are stored with their sources. At most once per income record: the income row is locked
  first (PostgreSQL) or the writer holds SQLite's lock, and ``UNIQUE (income_record_id)``
  decides any race that still gets through (``ip.distributing``; many records at once:
  ``ip.distribution_batch``).
- **Approve**: requested → approved; a distribution whose pool was above
  ``SHELFBRIDGE_REWARD_SECOND_APPROVAL_ABOVE`` when it was requested needs an approver other
  than the requester. **Pay**: approved → paid, once.
- **Ledger invariants** (:func:`check_ledger`): received = distributed + retained + costs; every
  line pays a contributor of the asset; the lines sum to the pool; one distribution per income
  record; paid only once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from shelfbridge.accounts.actor import current_actor
from shelfbridge.core.errors import Conflict, NotFound, PermissionDenied
from shelfbridge.core.i18n import N_, translate
from shelfbridge.core.models import utcnow
from shelfbridge.ip import repository

# Distributing itself lives in ip.distributing and ip.distribution_batch; callers keep
# finding it here.
from shelfbridge.ip.distributing import ALREADY as ALREADY
from shelfbridge.ip.distributing import distribute as distribute
from shelfbridge.ip.distribution_batch import BatchReport as BatchReport
from shelfbridge.ip.distribution_batch import distribute_many as distribute_many
from shelfbridge.ip.distribution_batch import pending_income as pending_income
from shelfbridge.ip.models import (
    DISTRIBUTION_STATUSES,
    Distribution,
    DistributionLine,
    IncomeRecord,
    IpAsset,
    IpContributor,
)
from shelfbridge.ip.service import require_manager
from shelfbridge.registry.models import Person


def _managed_distribution(session: Session, ident: int) -> Distribution:
    distribution = repository.get_distribution(session, ident, for_update=True)
    if distribution is None:
        raise NotFound("ip_distributions")
    require_manager(distribution.owner_org_id)
    return distribution


def get_distribution(session: Session, ident: int) -> Distribution:
    distribution = repository.get_distribution(session, ident)
    if distribution is None:
        raise NotFound("ip_distributions")
    return distribution


def approve(session: Session, ident: int) -> Distribution:
    """requested → approved; above the threshold only by someone other than the requester."""
    distribution = _managed_distribution(session, ident)
    actor = current_actor.get()
    if distribution.status != "requested":
        raise Conflict(
            N_("Only a requested distribution can be approved; this one is {status}."),
            status=translate(DISTRIBUTION_STATUSES[distribution.status]),
        )
    if distribution.second_approval and actor.label == distribution.requested_by:
        raise PermissionDenied(
            N_(
                "This reward is above the amount that needs a second approver: someone other "
                "than the requester must approve it."
            )
        )
    distribution.status = "approved"
    distribution.approved_by = actor.label
    distribution.approved_by_user_id = actor.user_id
    distribution.approved_at = utcnow()
    session.flush()
    return distribution


def mark_paid(session: Session, ident: int) -> Distribution:
    """approved → paid, once: a second payment of the same distribution is refused."""
    distribution = _managed_distribution(session, ident)
    if distribution.status == "paid":
        raise Conflict(N_("This distribution has already been paid."))
    if distribution.status != "approved":
        raise Conflict(N_("A distribution is paid only after it is approved."))
    distribution.status = "paid"
    distribution.paid_by = current_actor.get().label
    distribution.paid_at = utcnow()
    session.flush()
    return distribution


# ---------------------------------------------------------------------------- the ledger
@dataclass(frozen=True)
class LedgerProblem:
    income_record_id: int
    what: str


def check_ledger(session: Session, owner_org_id: int | None = None) -> list[LedgerProblem]:
    """Every income record against the invariants (as the actor sees them: the platform sees
    all). An empty list means the ledger holds."""
    statement = select(IncomeRecord).options(selectinload(IncomeRecord.deductions))
    if owner_org_id is not None:
        statement = statement.where(IncomeRecord.owner_org_id == owner_org_id)
    statement = statement.where(repository.managed_clause(IncomeRecord))
    problems: list[LedgerProblem] = []
    records = list(session.scalars(statement))
    distributions = repository.distributions_of(session, [r.id for r in records])
    counts = dict(
        session.execute(
            select(Distribution.income_record_id, func.count()).group_by(
                Distribution.income_record_id
            )
        ).all()
    )
    members = {
        (c.asset_id, c.id)
        for c in session.scalars(
            select(IpContributor).where(IpContributor.asset_id.in_({r.asset_id for r in records}))
        )
    }
    for record in records:

        def bad(what: str, record: IncomeRecord = record) -> None:
            problems.append(LedgerProblem(record.id, what))

        if record.costs + record.net != record.amount:
            bad("costs + net != amount")
        if record.costs < 0 or record.net < 0:
            bad("negative costs or net")
        if counts.get(record.id, 0) > 1:
            bad("more than one distribution")
        distribution = distributions.get(record.id)
        if distribution is None:
            continue
        if distribution.pool + distribution.retained != record.net:
            bad("received != distributed + retained + costs")
        if distribution.pool < 0 or distribution.retained < 0:
            bad("negative pool or retained")
        if sum((line.amount for line in distribution.lines), Decimal(0)) != distribution.pool:
            bad("lines do not sum to the pool")
        if record.shares is not None:
            shares = sum(line.shares or 0 for line in distribution.lines)
            if (
                shares != distribution.pool_shares
                or (distribution.pool_shares or 0) + (distribution.retained_shares or 0)
                != record.shares
            ):
                bad("shares do not add up")
        for line in distribution.lines:
            if (distribution.asset_id, line.contributor_id) not in members:
                bad(f"line {line.id} pays someone who is not a contributor of the asset")
        contributors = [line.contributor_id for line in distribution.lines]
        if len(contributors) != len(set(contributors)):
            bad("a contributor is paid twice")
        if (distribution.status == "paid") != (distribution.paid_at is not None):
            bad("paid status and payment time disagree")
    return problems


# ---------------------------------------------------------------------------- statements
@dataclass
class StatementEntry:
    asset: IpAsset
    income: IncomeRecord
    distribution: Distribution | None
    lines: list[DistributionLine]

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def shares(self) -> int:
        return sum(line.shares or 0 for line in self.lines)


@dataclass
class Statement:
    person_id: int
    name: str
    assets: list[IpAsset]
    entries: list[StatementEntry] = field(default_factory=list)
    on: date = field(default_factory=date.today)

    def total(self, *statuses: str) -> Decimal:
        return sum(
            (
                e.amount
                for e in self.entries
                if e.distribution is not None and e.distribution.status in statuses
            ),
            Decimal(0),
        )

    def total_shares(self, *statuses: str) -> int:
        return sum(
            e.shares
            for e in self.entries
            if e.distribution is not None and e.distribution.status in statuses
        )


def statement(session: Session, person_id: int | None = None) -> Statement:
    """Every income, deduction, rule applied and payout for one contributor's inventions.

    Without ``person_id``: the signed-in user's own statement. With it: a contributor's, for
    the owner's officers (only the assets their units own) and the platform; anyone else
    reading someone else's statement gets a 404."""
    actor = current_actor.get()
    own = person_id is None or person_id == actor.person_id
    if person_id is None:
        if actor.person_id is None:
            raise NotFound(
                "people",
                N_(
                    "Your account is not linked to a person of the registry, so it has no "
                    "statement."
                ),
            )
        person_id = actor.person_id
    owners: frozenset[int] | None = None
    if not own and not actor.is_unrestricted:
        owners = repository.managed_orgs(actor)
        if not owners:
            raise NotFound("people")
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("people")
    assets, income, distributions, lines = repository.statement_rows(session, person_id, owners)
    if not own and owners is not None and not assets:
        raise NotFound("people")
    by_asset = {asset.id: asset for asset in assets}
    entries = []
    for record in income:
        distribution = distributions.get(record.id)
        entries.append(
            StatementEntry(
                asset=by_asset[record.asset_id],
                income=record,
                distribution=distribution,
                lines=lines.get(distribution.id, []) if distribution else [],
            )
        )
    return Statement(person_id=person.id, name=person.name, assets=assets, entries=entries)


def rule_source(rule: dict[str, Any], language: str | None = None) -> str:
    from shelfbridge.core.i18n import current_language

    chosen = language or current_language.get()
    return str(rule["source_en"] if chosen == "en" else rule["source_zh"])


def distributions_for(session: Session, ids: Sequence[int]) -> dict[int, Distribution]:
    return repository.distributions_of(session, ids)

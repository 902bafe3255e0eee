"""Reward distributions: the pool of one income record split among the asset's contributors,
its approval and payment, the ledger check and each contributor's statement. Never commits.

- **Distribute** (the owner's officers): the pool is the net income (or the shares) times the
  unit's own policy percentage when it has one in force on the day the income was received
  (checked again against every binding floor, ``ip.rules.check_policy``), else the floor of
  the most specific rule; rounded up to the fen or share, split with the one allocation
  function (``core.money.allocate`` through ``ip.calculator.simulate``). The rules considered
  are stored with their sources. At most once per income record: the income row is locked
  first (PostgreSQL) or the writer holds SQLite's lock, and ``UNIQUE (income_record_id)``
  decides any race that still gets through.
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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shelfbridge.accounts.actor import current_actor
from shelfbridge.core.errors import BadRequest, Conflict, NotFound, PermissionDenied
from shelfbridge.core.i18n import N_, translate
from shelfbridge.core.models import utcnow
from shelfbridge.ip import repository, rules
from shelfbridge.ip.calculator import Contributor, simulate
from shelfbridge.ip.models import (
    DISTRIBUTION_STATUSES,
    Distribution,
    DistributionLine,
    IncomeRecord,
    IpAsset,
    IpContributor,
)
from shelfbridge.ip.service import policy_percents, require_manager
from shelfbridge.registry.models import Person

ALREADY = N_("This income has already been distributed; a distribution runs once.")


def _rule_record(entry: Any) -> dict[str, Any]:
    """A rule as the ledger keeps it: both languages, so a statement reads in either."""
    rule: rules.RewardRule = entry.rule
    return {
        "id": rule.id,
        "jurisdiction": rule.jurisdiction,
        "measure": rule.measure,
        "floor_percent": None if rule.floor_percent is None else f"{rule.floor_percent:f}",
        "force": rule.force,
        "applied": entry.applied,
        "overridden_by": entry.overridden_by.id if entry.overridden_by else None,
        "unconfirmed": rule.unconfirmed,
        "source_zh": rule.source_zh,
        "source_en": rule.source_en,
    }


def distribute(session: Session, income_id: int, *, second_approval_above: Decimal) -> Distribution:
    """Request the distribution of one income record (once)."""
    income = repository.get_income(session, income_id, for_update=True)
    if income is None:
        raise NotFound("ip_income_records")
    require_manager(income.owner_org_id)
    if repository.distribution_of_income(session, income.id) is not None:
        raise Conflict(ALREADY)
    asset: IpAsset = income.asset
    contributors: list[IpContributor] = list(asset.contributors)
    if not contributors:
        raise BadRequest(N_("The asset has no contributors to reward."))
    equity = income.shares is not None
    policy = repository.policy_in_force(session, income.owner_org_id, income.received_on)
    measure = rules.POOL_MEASURE[income.mode]
    own = policy_percents(policy).get(measure) if policy is not None else None
    main = policy_percents(policy).get("main_contributors") if policy is not None else None
    people = [Contributor(c.name, c.weight, c.main) for c in contributors]
    simulation = simulate(
        asset.jurisdiction,
        asset.unit_type,
        income.mode,
        str(income.shares) if equity else f"{income.net:f}",
        people,
        income.received_on,
        policy=own,
    )
    if main is not None and any(c.main for c in contributors):
        # The unit's own main-contributor share (checked against the floors when it was set).
        given = sum((c.weight for c in contributors if c.main), Decimal(0)) * 100
        if given < main * sum((c.weight for c in contributors), Decimal(0)):
            raise BadRequest(
                N_(
                    "The unit's policy gives the main contributors at least {floor}% of the "
                    "reward; their weights give less. Correct the weights first."
                ),
                floor=f"{main:f}",
            )
    assert simulation.percent is not None
    if equity:
        pool_shares = int(simulation.pool)
        pool = Decimal("0.00")
    else:
        pool_shares = None
        pool = Decimal(simulation.pool).quantize(Decimal("0.01"))
    distribution = Distribution(
        owner_org_id=income.owner_org_id,
        income_record_id=income.id,
        asset_id=asset.id,
        basis="policy" if own is not None else "statute",
        policy_id=policy.id if own is not None and policy is not None else None,
        percent=simulation.percent,
        pool=pool,
        retained=income.net - pool,
        pool_shares=pool_shares,
        retained_shares=None if pool_shares is None else (income.shares or 0) - pool_shares,
        rules=[_rule_record(entry) for entry in simulation.resolution.rules],
        warnings=list(simulation.warnings),
        status="requested",
        second_approval=pool > second_approval_above,
        requested_by=current_actor.get().label,
        requested_by_user_id=current_actor.get().user_id,
        lines=[
            DistributionLine(
                owner_org_id=income.owner_org_id,
                position=position,
                contributor_id=contributor.id,
                person_id=contributor.person_id,
                name=contributor.name,
                weight=contributor.weight,
                main=contributor.main,
                amount=Decimal("0.00") if equity else Decimal(share.amount),
                shares=int(share.amount) if equity else None,
            )
            for position, (contributor, share) in enumerate(
                zip(contributors, simulation.shares, strict=True)
            )
        ],
    )
    session.add(distribution)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Another request distributed it between our check and our insert.
        raise Conflict(ALREADY) from None
    return distribution


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

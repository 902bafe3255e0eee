"""Distributing income, one record per request (:func:`distribute`), and the steps that
``ip.distribution_batch`` reuses for many records at once. Never commits.

Both read the case with a few Core statements (the income row locked first, its asset's
jurisdiction and unit type joined in), size and split the pool with the calculator, and insert
the distribution and its lines with Core, writing the audit event themselves: the same event,
byte for byte, that the ORM hooks would write for a new distribution with its lines (a test
compares them). The ORM unit of work, its relationship loads and a second snapshot of every
object cost several times the statements themselves; going round it is what makes a
distribution cheap (``bench/rewards.py``).

At most once per income record: the income row is locked first (``FOR UPDATE`` on
PostgreSQL; on SQLite the writer holds ``BEGIN IMMEDIATE``), an existing distribution is
refused (one request) or skipped and reported (a batch), and ``UNIQUE (income_record_id)``
decides any race that still gets through: a 409 for one request; for a batch, the records
someone else distributed meanwhile are skipped and the rest of the chunk is inserted again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from shelfbridge.accounts.actor import current_actor
from shelfbridge.core import audit
from shelfbridge.core.errors import BadRequest, Conflict, NotFound
from shelfbridge.core.i18n import N_
from shelfbridge.core.models import utcnow
from shelfbridge.ip import repository, rules
from shelfbridge.ip.calculator import Contributor, simulate
from shelfbridge.ip.models import (
    Distribution,
    DistributionLine,
    IncomeRecord,
    IpAsset,
    IpContributor,
    RewardPolicy,
)
from shelfbridge.ip.service import POLICY_FIELDS, require_manager

ALREADY = N_("This income has already been distributed; a distribution runs once.")
NO_CONTRIBUTORS = N_("The asset has no contributors to reward.")
MAIN_SHARE = N_(
    "The unit's policy gives the main contributors at least {floor}% of the "
    "reward; their weights give less. Correct the weights first."
)
FEN = Decimal("0.01")
# The hot statements use the tables, not the ORM classes: SQLAlchemy runs a statement on
# ORM attributes through its ORM layer, which costs more than SQLite takes to run it.
DISTRIBUTIONS = cast(Table, Distribution.__table__)
LINES = cast(Table, DistributionLine.__table__)
INCOME = cast(Table, IncomeRecord.__table__)
ASSETS = cast(Table, IpAsset.__table__)
CONTRIBUTORS = cast(Table, IpContributor.__table__)
POLICIES = cast(Table, RewardPolicy.__table__)
# The columns an audit snapshot leaves out of a line: its own id and its parent's.
_LINE_UNAUDITED = frozenset({"id", "distribution_id"})


@dataclass(frozen=True, slots=True)
class Case:
    """What a distribution needs to know about one income record."""

    income_id: int
    owner_org_id: int
    asset_id: int
    mode: str
    received_on: date
    net: Decimal
    shares: int | None
    jurisdiction: str
    unit_type: str


@dataclass(frozen=True, slots=True)
class Payee:
    id: int
    name: str
    weight: Decimal
    main: bool
    person_id: int | None


@dataclass(frozen=True, slots=True)
class Policy:
    id: int
    percents: dict[str, Decimal]


# ---------------------------------------------------------------------------- reading
@cache
def _cases_statement(restricted: bool) -> Select[Any]:
    # Built once (per kind of actor) with bound lists: building a statement per request costs
    # more than running it. ``restricted`` adds what repository.managed_clause says.
    income = INCOME.c
    statement = (
        select(
            income.id,
            income.owner_org_id,
            income.asset_id,
            income.mode,
            income.received_on,
            income.net,
            income.shares,
            ASSETS.c.jurisdiction,
            ASSETS.c.unit_type,
        )
        .join_from(INCOME, ASSETS, ASSETS.c.id == income.asset_id)
        .where(income.id.in_(bindparam("ids", expanding=True)))
    )
    if restricted:
        statement = statement.where(income.owner_org_id.in_(bindparam("orgs", expanding=True)))
    # Locks taken in one order never deadlock. FOR UPDATE OF the income row only (SQLite has
    # no FOR UPDATE: the writer's BEGIN IMMEDIATE already serialises writers).
    return statement.order_by(income.id).with_for_update(of=INCOME)


def lock_cases(session: Session, income_ids: Sequence[int]) -> list[Case]:
    """The income records among ``income_ids`` the actor manages, locked, in id order."""
    actor = current_actor.get()
    params: dict[str, Any] = {"ids": list(income_ids)}
    if not actor.is_unrestricted:
        params["orgs"] = sorted(repository.managed_orgs(actor))
    statement = _cases_statement(not actor.is_unrestricted)
    return [Case(*row) for row in session.execute(statement, params)]


@cache
def _distributed_statement() -> Select[Any]:
    column = DISTRIBUTIONS.c.income_record_id
    return select(column).where(column.in_(bindparam("ids", expanding=True)))


def already_distributed(session: Session, income_ids: Iterable[int]) -> set[int]:
    """Which of the records have a distribution, whoever may see it (read after the lock,
    so that a distribution committed while we waited for it counts)."""
    return set(session.scalars(_distributed_statement(), {"ids": list(income_ids)}))


@cache
def _payees_statement() -> Select[Any]:
    c = CONTRIBUTORS.c
    return (
        select(c.asset_id, c.id, c.name, c.weight, c.main, c.person_id)
        .where(c.asset_id.in_(bindparam("assets", expanding=True)))
        .order_by(c.asset_id, c.position)
    )


def payees(session: Session, asset_ids: Iterable[int]) -> dict[int, list[Payee]]:
    """Each asset's contributors, in their order (the asset's ``contributors``)."""
    found: dict[int, list[Payee]] = {}
    for asset_id, *rest in session.execute(_payees_statement(), {"assets": list(asset_ids)}):
        found.setdefault(asset_id, []).append(Payee(*rest))
    return found


@cache
def _policies_statement() -> Select[Any]:
    p = POLICIES.c
    columns = [p[column] for column in POLICY_FIELDS.values()]
    return (
        select(p.owner_org_id, p.effective_from, p.id, *columns)
        .where(p.owner_org_id.in_(bindparam("orgs", expanding=True)))
        .where(p.effective_from <= bindparam("on"))
        .order_by(p.owner_org_id, p.effective_from.desc())
    )


class PolicyBook:
    """The reward policies of some units, each unit's newest first: the one in force on a day
    is the latest that took effect by then (``repository.policy_in_force``; one per unit and
    day, by a unique constraint)."""

    def __init__(self, session: Session, owners: Iterable[int], until: date) -> None:
        self._by_owner: dict[int, list[tuple[date, Policy]]] = {}
        measures = list(POLICY_FIELDS)
        rows = session.execute(_policies_statement(), {"orgs": list(owners), "on": until})
        for owner, effective_from, ident, *values in rows:
            percents = {m: v for m, v in zip(measures, values, strict=True) if v is not None}
            self._by_owner.setdefault(owner, []).append((effective_from, Policy(ident, percents)))

    def in_force(self, owner_org_id: int, on: date) -> Policy | None:
        for effective_from, policy in self._by_owner.get(owner_org_id, ()):
            if effective_from <= on:
                return policy
        return None


# ---------------------------------------------------------------------------- planning
@dataclass(slots=True)
class Plan:
    """A distribution ready to insert: its row and its lines' rows (without ids)."""

    row: dict[str, Any]
    lines: list[dict[str, Any]]


def plan(
    case: Case,
    contributors: Sequence[Payee],
    policy: Policy | None,
    *,
    second_approval_above: Decimal,
    requested_by: str,
    requested_by_user_id: int | None,
) -> Plan:
    """Size the pool of one case and split it (``calculator.simulate``), as rows to insert.
    Raises what the calculator raises, and :class:`BadRequest` when the case cannot be
    distributed (no contributors, main contributors below the unit's own share)."""
    if not contributors:
        raise BadRequest(NO_CONTRIBUTORS)
    equity = case.shares is not None
    own = main = None
    if policy is not None:
        own = policy.percents.get(rules.POOL_MEASURE[case.mode])
        main = policy.percents.get("main_contributors")
    simulation = simulate(
        case.jurisdiction,
        case.unit_type,
        case.mode,
        str(case.shares) if equity else f"{case.net:f}",
        [Contributor(c.name, c.weight, c.main) for c in contributors],
        case.received_on,
        policy=own,
    )
    if main is not None and any(c.main for c in contributors):
        # The unit's own main-contributor share (checked against the floors when it was set).
        given = sum((c.weight for c in contributors if c.main), Decimal(0)) * 100
        if given < main * sum((c.weight for c in contributors), Decimal(0)):
            raise BadRequest(MAIN_SHARE, floor=f"{main:f}")
    assert simulation.percent is not None
    if equity:
        pool_shares: int | None = int(simulation.pool)
        pool = Decimal("0.00")
    else:
        pool_shares = None
        pool = Decimal(simulation.pool).quantize(FEN)
    now = utcnow()
    row: dict[str, Any] = {
        "id": None,
        "owner_org_id": case.owner_org_id,
        "income_record_id": case.income_id,
        "asset_id": case.asset_id,
        "basis": "policy" if own is not None else "statute",
        "policy_id": policy.id if own is not None and policy is not None else None,
        "percent": simulation.percent,
        "pool": pool,
        "retained": case.net - pool,
        "pool_shares": pool_shares,
        "retained_shares": None if pool_shares is None else (case.shares or 0) - pool_shares,
        "rules": [rule_record(entry) for entry in simulation.resolution.rules],
        "warnings": list(simulation.warnings),
        "status": "requested",
        "second_approval": pool > second_approval_above,
        "requested_by": requested_by,
        "requested_by_user_id": requested_by_user_id,
        "approved_by": None,
        "approved_by_user_id": None,
        "approved_at": None,
        "paid_by": None,
        "paid_at": None,
        "created_at": now,
        "updated_at": now,
    }
    lines = [
        {
            "id": None,
            "distribution_id": None,
            "owner_org_id": case.owner_org_id,
            "position": position,
            "contributor_id": contributor.id,
            "person_id": contributor.person_id,
            "name": contributor.name,
            "weight": contributor.weight,
            "main": contributor.main,
            "amount": Decimal("0.00") if equity else Decimal(share.amount),
            "shares": int(share.amount) if equity else None,
        }
        for position, (contributor, share) in enumerate(
            zip(contributors, simulation.shares, strict=True)
        )
    ]
    return Plan(row, lines)


def rule_record(entry: rules.RuleInForce) -> dict[str, Any]:
    """A rule as the ledger keeps it: both languages, so a statement reads in either."""
    rule = entry.rule
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


# ---------------------------------------------------------------------------- writing
def _snapshot(found: Plan) -> dict[str, Any]:
    """``audit.snapshot`` of the new distribution, made from the rows we inserted."""
    data = {k: v for k, v in found.row.items() if k not in audit.SKIPPED_COLUMNS}
    data["lines"] = [
        {k: v for k, v in line.items() if k not in _LINE_UNAUDITED}
        for line in sorted(found.lines, key=lambda line: line["position"] or 0)
    ]
    return data


def make_event(found: Plan, actor: str) -> audit.PendingEvent:
    return audit.PendingEvent(
        action="create",
        entity_kind=Distribution.__audit_kind__,
        entity_id=found.row["id"],
        external_id=None,
        before=None,
        after=audit.bulk_canonical_json(_snapshot(found)),
        actor=actor,
        occurred_at=audit.now_iso(),
    )


@cache
def _insert_one_statement() -> Any:
    return insert(DISTRIBUTIONS).returning(DISTRIBUTIONS.c.id)


def insert_lines(session: Session, plans: Sequence[Plan]) -> None:
    columns = [c.name for c in LINES.columns if c.name != "id"]
    rows = []
    for found in plans:
        for line in found.lines:
            line["distribution_id"] = found.row["id"]
            rows.append(tuple(line[c] for c in columns))
    audit.insert_many(session, LINES, columns, rows)


def insert_one(session: Session, found: Plan) -> Distribution:
    """Insert one planned distribution; a clash on ``UNIQUE (income_record_id)`` is a 409
    (the unit of work then rolls back). Returns it as a persistent ORM object, lines loaded
    on first use."""
    values = {k: v for k, v in found.row.items() if k != "id"}
    try:
        found.row["id"] = session.execute(_insert_one_statement(), values).scalar_one()
    except IntegrityError:
        # Another request distributed it between our check and our insert.
        raise Conflict(ALREADY) from None
    insert_lines(session, [found])
    audit.buffer_events(session, [make_event(found, audit.current_actor.get())])
    distribution = Distribution(**found.row)
    # Known to the session as it stands in the database (nothing to flush, no second audit
    # event); ``lines`` and ``income_record`` load when first read.
    make_transient_to_detached(distribution)
    session.add(distribution)
    return distribution


def distribute(session: Session, income_id: int, *, second_approval_above: Decimal) -> Distribution:
    """Request the distribution of one income record (once)."""
    cases = lock_cases(session, [income_id])
    if not cases:
        raise NotFound("ip_income_records")
    case = cases[0]
    require_manager(case.owner_org_id)
    if already_distributed(session, [case.income_id]):
        raise Conflict(ALREADY)
    contributors = payees(session, [case.asset_id]).get(case.asset_id, [])
    if not contributors:
        raise BadRequest(NO_CONTRIBUTORS)
    policy = PolicyBook(session, [case.owner_org_id], case.received_on).in_force(
        case.owner_org_id, case.received_on
    )
    actor = current_actor.get()
    found = plan(
        case,
        contributors,
        policy,
        second_approval_above=second_approval_above,
        requested_by=actor.label,
        requested_by_user_id=actor.user_id,
    )
    return insert_one(session, found)

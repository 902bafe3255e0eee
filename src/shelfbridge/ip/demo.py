"""The IP demo: a few assets, a licence and an assignment with their income, deductions and
distributions, for the two demo universities (清华大学 of demo-tto-a, 浙江大学 of demo-tto-b).

Everything here is illustrative (fictitious, like the ``RES-DEMO-…`` results it builds on):
the inventors are the 示例发明人 of those results, created as people of the registry, and
``demo-researcher-a`` is linked to 示例发明人甲 so that the account reads a statement. Loaded by
``shelfbridge demo load`` through the same services as the pages (so every row is audited and
every rule applies); running it again changes nothing.

Distributions are requested by the universities' officers and approved by the platform's demo
admin (a second approver) when the demo accounts exist; without them (outside demo mode) they
are requested by the system and wait for approval.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelfbridge.accounts import repository as accounts_repository
from shelfbridge.accounts.actor import SYSTEM, Actor, current_actor, user_actor
from shelfbridge.accounts.demo import ENTERPRISE_E1, ENTERPRISE_E2, UNIVERSITY_A, UNIVERSITY_B
from shelfbridge.accounts.models import User
from shelfbridge.ip import distribution, office_actions, service
from shelfbridge.ip.models import IpAsset
from shelfbridge.registry import service as registry_service
from shelfbridge.registry.models import Organization, Person, Result

MARKER = "IP-DEMO-001"  # present once the IP demo is loaded
RESEARCHER_PERSON = "PER-DEMO-IP-01"
RESEARCHER_ACCOUNT = "demo-researcher-a"

PEOPLE = (
    ("PER-DEMO-IP-01", "示例发明人甲", UNIVERSITY_A),
    ("PER-DEMO-IP-02", "示例发明人乙", UNIVERSITY_A),
    ("PER-DEMO-IP-03", "示例发明人丙", UNIVERSITY_A),
    ("PER-DEMO-IP-04", "示例发明人丁", UNIVERSITY_B),
    ("PER-DEMO-IP-05", "示例发明人戊", UNIVERSITY_B),
)

ASSETS: tuple[dict[str, Any], ...] = (
    {
        "external_id": "IP-DEMO-001",
        "owner": UNIVERSITY_A,
        "result": "RES-DEMO-001",
        "kind": "invention-patent",
        "title": "一种固态锂电池用复合电解质膜及其制备方法（示例）",
        "application_number": "CN202210000001.X（示例）",
        "filed_on": "2022-03-15",
        "status": "granted",
        "granted_on": "2024-05-10",
        "fee_reduction": "sole",  # a university alone: its annual fees are reduced (费减)
        "contributors": "示例发明人甲@PER-DEMO-IP-01:60:main\n示例发明人乙@PER-DEMO-IP-02:40",
    },
    {
        "external_id": "IP-DEMO-002",
        "owner": UNIVERSITY_A,
        "result": "RES-DEMO-002",
        "kind": "utility-model",
        "title": "一种协作机器人力控关节的散热结构（示例）",
        "application_number": "CN202420000002.3（示例）",
        "filed_on": "2025-09-01",
        "status": "filed",
        "contributors": "示例发明人甲@PER-DEMO-IP-01:2:main\n示例发明人丙@PER-DEMO-IP-03:1",
    },
    {
        "external_id": "IP-DEMO-101",
        "owner": UNIVERSITY_B,
        "result": "RES-DEMO-003",
        "kind": "invention-patent",
        "title": "一种养殖水体氨氮在线检测方法（示例）",
        "application_number": "CN202310000101.6（示例）",
        "filed_on": "2023-04-10",
        "status": "granted",
        "granted_on": "2025-02-28",
        "contributors": "示例发明人丁@PER-DEMO-IP-04:50:main\n示例发明人戊@PER-DEMO-IP-05:50:main",
    },
    {
        "external_id": "IP-DEMO-102",
        "owner": UNIVERSITY_B,
        "result": "RES-DEMO-004",
        "kind": "software-copyright",
        "title": "海洋防腐涂层加速老化评价软件 V1.0（示例）",
        "filed_on": "2024-11-20",
        "status": "granted",
        "granted_on": "2025-01-15",
        "contributors": "示例发明人戊@PER-DEMO-IP-05:1:main",
    },
)
#: an application filed about ten months before the demo is loaded, so that the calendar
#: always shows its Paris priority year ending and an office action to answer
RECENT = {
    "external_id": "IP-DEMO-003",
    "owner": UNIVERSITY_A,
    "kind": "invention-patent",
    "title": "一种面向协作机器人的关节力矩估计方法（示例）",
    "status": "filed",
    "contributors": "示例发明人甲@PER-DEMO-IP-01:1:main\n示例发明人丙@PER-DEMO-IP-03:1",
}
RECENT_FILED_DAYS_AGO = 300


@dataclass(frozen=True)
class DemoIncome:
    external_id: str
    received_on: str
    amount: str
    deductions: tuple[tuple[str, str], ...]
    settle: bool  # approve and pay (True) or leave the request waiting for approval


@dataclass(frozen=True)
class DemoDeal:
    external_id: str
    asset: str
    fields: dict[str, Any]
    signed_on: date
    contract_number: str
    registered: tuple[date, str] | None
    income: tuple[DemoIncome, ...]


DEALS = (
    DemoDeal(
        "DEAL-DEMO-001",
        "IP-DEMO-001",
        {
            "deal_type": "licence",
            "counterparty": ENTERPRISE_E1,
            "licence_scope": "exclusive",
            "term_start": "2024-07-01",
            "term_end": "2029-06-30",
            "territory": "中国大陆",
            "field_of_use": "固态锂电池电解质膜",
            "price": "1200000.00",
            "payment_mode": "royalty-entry-fee",
            "price_mode": "listing",
        },
        date(2024, 6, 20),
        "HT-DEMO-2024-001",
        (date(2024, 7, 5), "JSHT-DEMO-2024-110108-001"),
        (
            DemoIncome(
                "INC-DEMO-001",
                "2024-07-15",
                "500000.00",
                (("taxes", "30000.00"), ("maintenance", "4500.00"), ("direct-costs", "15500.00")),
                settle=True,
            ),
            DemoIncome(
                "INC-DEMO-002", "2025-07-15", "300000.00", (("taxes", "18000.00"),), settle=False
            ),
        ),
    ),
    DemoDeal(
        "DEAL-DEMO-101",
        "IP-DEMO-101",
        {
            "deal_type": "assignment",
            "counterparty": ENTERPRISE_E2,
            "price": "800000.00",
            "payment_mode": "lump-sum",
            "price_mode": "negotiated",
            "posting_start": "2025-03-10",
            "posting_end": "2025-03-24",
        },
        date(2025, 4, 1),
        "HT-DEMO-2025-101",
        None,
        (
            DemoIncome(
                "INC-DEMO-101",
                "2025-04-20",
                "800000.00",
                (
                    ("taxes", "48000.00"),
                    ("direct-costs", "12000.00"),
                    ("rd-costs-public", "100000.00"),
                ),
                settle=True,
            ),
        ),
    ),
)
#: 浙江大学's own reward rule, above the Zhejiang floor of 70% (Art. 37) that binds it
POLICY = {
    "owner": UNIVERSITY_B,
    "title": "浙江大学科技成果转化收益分配办法（示例）",
    "effective_from": "2024-01-01",
    "net_income_percent": "75",
}


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    token = current_actor.set(actor)
    try:
        yield
    finally:
        current_actor.reset(token)


def _org(session: Session, external_id: str) -> Organization:
    found = session.scalars(
        select(Organization).where(Organization.external_id == external_id)
    ).one()
    return found


def _actor(session: Session, username: str) -> Actor | None:
    user = accounts_repository.user_by_username(session, username)
    if user is None:
        return None
    memberships = [
        (organization.id, membership.role)
        for membership, organization in accounts_repository.live_memberships(session, user.id)
    ]
    return user_actor(user.id, user.username, user.is_platform_admin, user.person_id, memberships)


def loaded(session: Session) -> bool:
    return (
        session.scalars(select(IpAsset.id).where(IpAsset.external_id == MARKER)).first() is not None
    )


def load_demo_ip(session: Session, *, second_approval_above: Decimal) -> dict[str, int]:
    """Create the IP demo unless it is there; link demo-researcher-a to 示例发明人甲 when the
    account exists. Returns what was created (all zero when it was already loaded)."""
    counts = {"assets": 0, "deals": 0, "income": 0, "distributions": 0}
    if not loaded(session):
        with acting_as(SYSTEM):
            _people(session)
            assets = _assets(session, counts)
            policy: dict[str, Any] = {k: v for k, v in POLICY.items() if k != "owner"}
            policy["owner_org_id"] = _org(session, POLICY["owner"]).id
            service.set_policy(session, policy)
        for deal in DEALS:
            _deal(session, deal, assets[deal.asset], counts, second_approval_above)
    link_researcher(session)
    load_demo_disclosures(session)
    return counts


def load_demo_disclosures(session: Session) -> int:
    """The disclosure demo (``ip/disclosure_demo.py``), loaded once on its own marker so that
    a database whose IP demo came before disclosures gets them too."""
    from shelfbridge.ip.disclosure_demo import load

    return load(session)


def link_researcher(session: Session) -> bool:
    user = session.scalars(select(User).where(User.username == RESEARCHER_ACCOUNT)).first()
    person = session.scalars(select(Person).where(Person.external_id == RESEARCHER_PERSON)).first()
    if user is None or person is None or user.person_id == person.id:
        return False
    user.person_id = person.id
    session.flush()
    return True


def _people(session: Session) -> None:
    for external_id, name, organization in PEOPLE:
        exists = session.scalars(select(Person.id).where(Person.external_id == external_id))
        if exists.first() is None:
            registry_service.create(
                session,
                "people",
                {"external_id": external_id, "name": name, "organization": organization},
            )


def _recent(today: date) -> dict[str, Any]:
    filed = today - timedelta(days=RECENT_FILED_DAYS_AGO)
    return {
        **RECENT,
        "filed_on": filed.isoformat(),
        "application_number": f"CN{filed.year}1000003.9（示例）",
        "pct_application_number": f"PCT/CN{filed.year}/000003（示例）",
        "pct_filed_on": (today - timedelta(days=20)).isoformat(),
    }


def _assets(session: Session, counts: dict[str, int]) -> dict[str, int]:
    created: dict[str, int] = {}
    for spec in (*ASSETS, _recent(date.today())):
        raw = {k: v for k, v in spec.items() if k not in ("owner", "result")}
        raw["owner_org_id"] = _org(session, spec["owner"]).id
        result = session.scalars(
            select(Result.id).where(Result.external_id == spec.get("result", ""))
        ).first()
        if result is not None:
            raw["result_id"] = result
        created[spec["external_id"]] = service.create_asset(session, raw).id
        counts["assets"] += 1
    today = date.today()
    office_actions.add_office_action(
        session,
        created["IP-DEMO-003"],
        {
            "kind": "first-examination",
            "issued_on": (today - timedelta(days=60)).isoformat(),
            "delivery": "post",  # the period runs from the presumed receipt (Art. 4)
            "reference": "OA-DEMO-003-1（示例）",
        },
    )
    return created


def _deal(
    session: Session,
    spec: DemoDeal,
    asset_id: int,
    counts: dict[str, int],
    second_approval_above: Decimal,
) -> None:
    asset = session.get(IpAsset, asset_id)
    assert asset is not None
    university = UNIVERSITY_A if asset.owner.external_id == UNIVERSITY_A else UNIVERSITY_B
    officer = _actor(session, "demo-tto-a" if university == UNIVERSITY_A else "demo-tto-b")
    approver = _actor(session, "demo-admin")
    with acting_as(SYSTEM):
        raw = {k: v for k, v in spec.fields.items() if k != "counterparty"}
        raw["external_id"] = spec.external_id
        raw["counterparty_org_id"] = _org(session, spec.fields["counterparty"]).id
        deal = service.create_deal(session, asset_id, raw)
        service.sign_deal(session, deal.id, spec.signed_on, spec.contract_number)
        if spec.registered is not None:
            service.register_deal(session, deal.id, *spec.registered)
        counts["deals"] += 1
        incomes = []
        for item in spec.income:
            income = service.record_income(
                session,
                deal.id,
                {
                    "external_id": item.external_id,
                    "received_on": item.received_on,
                    "amount": item.amount,
                    "deductions": [{"kind": k, "amount": a} for k, a in item.deductions],
                },
            )
            incomes.append((item, income.id))
            counts["income"] += 1
    for item, income_id in incomes:
        with acting_as(officer or SYSTEM):
            found = distribution.distribute(
                session, income_id, second_approval_above=second_approval_above
            )
        counts["distributions"] += 1
        if item.settle and officer is not None and approver is not None:
            with acting_as(approver):
                distribution.approve(session, found.id)
            with acting_as(officer):
                distribution.mark_paid(session, found.id)

"""The IP ledger on a real database (SQLite, or PostgreSQL with row-level security): assets and
their lifecycle, deals, income, distributions, approvals, payments and statements."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from shelfbridge.core import audit
from shelfbridge.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RuleViolation,
    ValidationFailed,
)
from shelfbridge.core.i18n import translate
from shelfbridge.ip import distribution as rewards
from shelfbridge.ip import service
from shelfbridge.ip.models import TRANSITIONS, Distribution, IpAsset
from tests import factories
from tests.ip.ledger_support import Ledger, acting_as, build_ledger

THRESHOLD = Decimal("50000.00")


@pytest.fixture
def ledger(database: Any) -> Ledger:
    return build_ledger(database)


def _licence_income(database: Any, ledger: Ledger, amount: str = "100000.00") -> int:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        deal = factories.ip_licence(session, ledger.asset)
        return int(factories.ip_income(session, deal.id, amount=amount).id)


def _distribute(database: Any, ledger: Ledger, income_id: int, who: str = "officer_a") -> int:
    with acting_as(ledger.actors[who]), database.unit_of_work() as session:
        return int(rewards.distribute(session, income_id, second_approval_above=THRESHOLD).id)


# ---------------------------------------------------------------- assets and lifecycle
def test_an_asset_takes_its_owner_province_and_unit_type_and_is_audited(
    database: Any, ledger: Ledger
) -> None:
    with database.unit_of_work() as session:
        asset = session.get(IpAsset, ledger.asset)
        assert asset is not None
        assert (asset.jurisdiction, asset.unit_type, asset.status) == (
            "110000",
            "state-university",
            "filed",
        )
        assert [c.name for c in asset.contributors] == ["王发明", "李协作"]
        events = list(audit.events_for(session, "ip_asset", asset.id))
    assert [e.action for e in events] == ["create"]
    assert "王发明" in (events[0].after or "")


def test_allowed_transitions_follow_the_lifecycle_data(database: Any, ledger: Ledger) -> None:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        service.transition(session, ledger.asset, "published", date(2024, 9, 1))
        service.transition(session, ledger.asset, "granted", date(2025, 2, 1))
        asset = service.transition(session, ledger.asset, "maintained", date(2026, 2, 1))
        assert asset.granted_on == date(2025, 2, 1)
        assert set(service.allowed_transitions(asset)) == set(TRANSITIONS["maintained"])


def test_a_forbidden_transition_is_refused_with_the_allowed_steps(
    database: Any, ledger: Ledger
) -> None:
    with (
        acting_as(ledger.actors["officer_a"]),
        pytest.raises(Conflict) as refused,
        database.unit_of_work() as session,
    ):
        service.transition(session, ledger.asset, "lapsed", date(2024, 9, 1))
    message = str(refused.value)
    assert "filed cannot become lapsed" in message
    assert "published, granted, abandoned" in message


def test_a_final_status_allows_no_step_and_a_utility_model_is_never_published(
    database: Any, ledger: Ledger
) -> None:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        service.transition(session, ledger.asset, "abandoned", date(2024, 1, 2))
        model = factories.ip_asset(session, ledger.org_a, kind="utility-model")
        model_id = model.id
    with (
        acting_as(ledger.actors["officer_a"]),
        pytest.raises(Conflict, match="final status"),
        database.unit_of_work() as session,
    ):
        service.transition(session, ledger.asset, "maintained")
    with (
        acting_as(ledger.actors["officer_a"]),
        pytest.raises(Conflict, match="cannot become published"),
        database.unit_of_work() as session,
    ):
        service.transition(session, model_id, "published")


def test_only_the_owners_officers_change_an_asset_and_another_tenant_gets_404(
    database: Any, ledger: Ledger
) -> None:
    with (
        acting_as(ledger.actors["researcher_a"]),
        pytest.raises(PermissionDenied),
        database.unit_of_work() as session,
    ):
        service.transition(session, ledger.asset, "published")
    for who in ("officer_b",):
        with acting_as(ledger.actors[who]), database.unit_of_work() as session:
            with pytest.raises(NotFound):
                service.get_asset(session, ledger.asset)
            with pytest.raises(NotFound):
                service.transition(session, ledger.asset, "published")
    with acting_as(ledger.actors["inventor"]), database.unit_of_work() as session:
        assert service.get_asset(session, ledger.asset).title  # a contributor sees the asset


def test_an_asset_needs_known_choices_and_positive_weights(database: Any, ledger: Ledger) -> None:
    with (
        acting_as(ledger.actors["officer_a"]),
        pytest.raises(ValidationFailed) as refused,
        database.unit_of_work() as session,
    ):
        service.create_asset(
            session,
            {"kind": "trademark", "title": "", "contributors": [{"name": "甲", "weight": "-1"}]},
        )
    fields = {p.field for p in refused.value.problems}
    assert {"kind", "title", "contributors[0]"} <= fields


# ---------------------------------------------------------------- deals
def test_a_licence_needs_scope_term_and_territory(database: Any, ledger: Ledger) -> None:
    with (
        acting_as(ledger.actors["officer_a"]),
        pytest.raises(ValidationFailed) as refused,
        database.unit_of_work() as session,
    ):
        service.create_deal(
            session,
            ledger.asset,
            {"deal_type": "licence", "counterparty_name": "某公司", "price_mode": "listing"},
        )
    assert {"licence_scope", "term_start", "term_end", "territory"} <= {
        p.field for p in refused.value.problems
    }


def test_an_assignment_is_a_transfer_contract_not_a_licensing_one(
    database: Any, ledger: Ledger
) -> None:
    with (
        acting_as(ledger.actors["officer_a"]),
        pytest.raises(ValidationFailed, match="Some fields"),
        database.unit_of_work() as session,
    ):
        service.create_deal(
            session,
            ledger.asset,
            {
                "deal_type": "assignment",
                "contract_type": "licensing",
                "counterparty_name": "某公司",
                "price_mode": "auction",
            },
        )


def test_a_state_unit_signs_a_negotiated_price_only_after_its_public_posting(
    database: Any, ledger: Ledger
) -> None:
    officer = ledger.actors["officer_a"]
    base = {"deal_type": "assignment", "counterparty_name": "某公司", "price_mode": "negotiated"}
    with (
        acting_as(officer),
        pytest.raises(ValidationFailed, match="Some fields"),
        database.unit_of_work() as session,
    ):
        service.create_deal(session, ledger.asset, base)
    with acting_as(officer), database.unit_of_work() as session:
        deal = service.create_deal(
            session,
            ledger.asset,
            {**base, "posting_start": "2024-01-02", "posting_end": "2024-01-20"},
        )
        deal_id = deal.id
    with (
        acting_as(officer),
        pytest.raises(Conflict, match="Art. 18"),
        database.unit_of_work() as session,
    ):
        service.sign_deal(session, deal_id, date(2024, 1, 20))
    with acting_as(officer), database.unit_of_work() as session:
        assert service.sign_deal(session, deal_id, date(2024, 1, 21)).status == "signed"
        deal = service.register_deal(session, deal_id, date(2024, 2, 1), "2024110000000123")
        assert deal.status == "registered"
    with (
        acting_as(officer),
        pytest.raises(Conflict, match="Only a draft"),
        database.unit_of_work() as session,
    ):
        service.sign_deal(session, deal_id, date(2024, 3, 1))


def test_deal_terms_are_for_the_owners_officers_only(database: Any, ledger: Ledger) -> None:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        deal_id = factories.ip_licence(session, ledger.asset).id
    for who in ("inventor", "researcher_a", "officer_b"):
        with (
            acting_as(ledger.actors[who]),
            pytest.raises(NotFound),
            database.unit_of_work() as session,
        ):
            service.get_deal(session, deal_id)
    with acting_as(ledger.actors["admin_a"]), database.unit_of_work() as session:
        assert service.get_deal(session, deal_id).territory == "中国大陆"


# ---------------------------------------------------------------- income and net income
def test_beijing_net_income_takes_taxes_and_direct_costs_but_not_public_rd(
    database: Any, ledger: Ledger
) -> None:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        deal = factories.ip_licence(session, ledger.asset)
        income = factories.ip_income(
            session,
            deal.id,
            deductions=[
                {"kind": "taxes", "amount": "6000.00"},
                {"kind": "direct-costs", "amount": "4000.00"},
                {"kind": "rd-costs-public", "amount": "50000.00"},
            ],
        )
        assert (income.amount, income.costs, income.net) == (
            Decimal("100000.00"),
            Decimal("10000.00"),
            Decimal("90000.00"),
        )
        assert [(d.kind, d.allowed, d.rule_id) for d in income.deductions] == [
            ("taxes", True, "BJ-NET-taxes"),
            ("direct-costs", True, "BJ-NET-direct-costs"),
            ("rd-costs-public", False, "BJ-NET-rd-costs-public"),
        ]
        income = service.add_deduction(session, income.id, "maintenance", "1500.00")
        assert income.net == Decimal("88500.00")


def test_deductions_above_the_income_leave_a_net_of_zero(database: Any, ledger: Ledger) -> None:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        deal = factories.ip_licence(session, ledger.asset)
        income = factories.ip_income(
            session, deal.id, amount="1000.00", deductions=[{"kind": "taxes", "amount": "5000"}]
        )
        assert (income.costs, income.net) == (Decimal("1000.00"), Decimal("0.00"))


def test_income_needs_a_signed_deal(database: Any, ledger: Ledger) -> None:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        deal = service.create_deal(
            session,
            ledger.asset,
            {"deal_type": "assignment", "counterparty_name": "某公司", "price_mode": "auction"},
        )
        with pytest.raises(Conflict, match="signed deal"):
            service.record_income(session, deal.id, {"received_on": "2024-03-01", "amount": "1"})


# ---------------------------------------------------------------- distribution
def test_a_beijing_state_university_licence_gives_contributors_70_percent_of_net(
    database: Any, ledger: Ledger
) -> None:
    income_id = _licence_income(database, ledger)
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        d = rewards.distribute(session, income_id, second_approval_above=THRESHOLD)
        assert (d.basis, d.percent, d.pool, d.retained) == (
            "statute",
            Decimal("70"),
            Decimal("63000.00"),
            Decimal("27000.00"),
        )
        assert [(line.name, line.amount) for line in d.lines] == [
            ("王发明", Decimal("47250.00")),
            ("李协作", Decimal("15750.00")),
        ]
        applied = [r["id"] for r in d.rules if r["applied"]]
        assert "BJ-2019-12-3-1" in applied
        assert any(r["id"] == "CN-STL45-2-1" and not r["applied"] for r in d.rules)
        assert d.second_approval is True  # 63,000 > 50,000
        assert rewards.check_ledger(session) == []


def test_a_national_state_university_gets_50_percent_never_70(database: Any) -> None:
    ledger = build_ledger(database, region="440300")  # Shenzhen: no local floor in the data
    income_id = _licence_income(database, ledger)
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        d = rewards.distribute(session, income_id, second_approval_above=THRESHOLD)
        assert (d.percent, d.pool) == (Decimal("50"), Decimal("45000.00"))
        assert [r["id"] for r in d.rules if r["applied"]][0] == "CN-STL45-2-1"


def test_the_units_own_policy_applies_and_a_state_university_below_50_is_refused(
    database: Any, ledger: Ledger
) -> None:
    officer = ledger.actors["officer_a"]
    policy = {"title": "某大学科技成果转化奖励办法", "effective_from": "2023-01-01"}
    with (
        acting_as(officer),
        pytest.raises(RuleViolation) as refused,
        database.unit_of_work() as session,
    ):
        service.set_policy(session, {**policy, "net_income_percent": "40"})
    assert "Art. 45 ¶2" in refused.value.render(translate)
    with acting_as(officer), database.unit_of_work() as session:
        service.set_policy(session, {**policy, "net_income_percent": "80"})
    income_id = _licence_income(database, ledger)
    with acting_as(officer), database.unit_of_work() as session:
        d = rewards.distribute(session, income_id, second_approval_above=THRESHOLD)
        assert (d.basis, d.percent, d.pool) == ("policy", Decimal("80"), Decimal("72000.00"))


def test_a_private_enterprise_may_set_a_lower_policy(database: Any, ledger: Ledger) -> None:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        policy = service.set_policy(
            session,
            {
                "title": "企业奖励制度",
                "effective_from": "2023-01-01",
                "unit_type": "private-enterprise",
                "net_income_percent": "20",
            },
        )
        assert policy.net_income_percent == Decimal("20")


def test_a_distribution_runs_once(database: Any, ledger: Ledger) -> None:
    income_id = _licence_income(database, ledger)
    _distribute(database, ledger, income_id)
    with pytest.raises(Conflict, match="runs once"):
        _distribute(database, ledger, income_id, who="officer2_a")


def test_only_the_owners_officers_distribute(database: Any, ledger: Ledger) -> None:
    income_id = _licence_income(database, ledger)
    for who in ("researcher_a", "inventor", "officer_b"):  # income is not theirs to see
        with pytest.raises(NotFound):
            _distribute(database, ledger, income_id, who=who)


def test_equity_rewards_are_share_counts(database: Any, ledger: Ledger) -> None:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        deal = service.create_deal(
            session,
            ledger.asset,
            {
                "deal_type": "equity",
                "counterparty_name": "新材料公司",
                "equity_shares": "1000001",
                "price_mode": "listing",
            },
        )
        service.sign_deal(session, deal.id, date(2024, 1, 15))
        income = service.record_income(
            session, deal.id, {"received_on": "2024-02-01", "shares": "1000001"}
        )
        d = rewards.distribute(session, income.id, second_approval_above=THRESHOLD)
        # Beijing 70% of 1,000,001 shares is 700,000.7: rounded up to 700,001
        assert (d.pool_shares, d.retained_shares) == (700001, 300000)
        assert [line.shares for line in d.lines] == [525001, 175000]
        assert rewards.check_ledger(session) == []


# ---------------------------------------------------------------- approval and payment
def test_above_the_threshold_the_requester_cannot_approve(database: Any, ledger: Ledger) -> None:
    income_id = _licence_income(database, ledger)
    d_id = _distribute(database, ledger, income_id)
    with (
        acting_as(ledger.actors["officer_a"]),
        pytest.raises(PermissionDenied, match="second approver"),
        database.unit_of_work() as session,
    ):
        rewards.approve(session, d_id)
    with acting_as(ledger.actors["officer2_a"]), database.unit_of_work() as session:
        d = rewards.approve(session, d_id)
        assert (d.status, d.approved_by) == ("approved", "user:ip-officer2-a")
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        assert rewards.mark_paid(session, d_id).status == "paid"
    with (
        acting_as(ledger.actors["officer2_a"]),
        pytest.raises(Conflict, match="already been paid"),
        database.unit_of_work() as session,
    ):
        rewards.mark_paid(session, d_id)


def test_below_the_threshold_the_requester_may_approve(database: Any, ledger: Ledger) -> None:
    income_id = _licence_income(database, ledger, amount="20000.00")
    d_id = _distribute(database, ledger, income_id)
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        d = rewards.approve(session, d_id)
        assert not d.second_approval and d.status == "approved"
        with pytest.raises(Conflict, match="Only a requested"):
            rewards.approve(session, d_id)


def test_payment_needs_approval_and_researchers_cannot_approve(
    database: Any, ledger: Ledger
) -> None:
    income_id = _licence_income(database, ledger)
    d_id = _distribute(database, ledger, income_id)
    with (
        acting_as(ledger.actors["officer_a"]),
        pytest.raises(Conflict, match="after it is approved"),
        database.unit_of_work() as session,
    ):
        rewards.mark_paid(session, d_id)
    with (
        acting_as(ledger.actors["inventor"]),
        pytest.raises(NotFound),
        database.unit_of_work() as session,
    ):
        rewards.approve(session, d_id)


# ---------------------------------------------------------------- statements
def test_a_contributor_sees_their_own_payouts_and_nobody_elses(
    database: Any, ledger: Ledger
) -> None:
    income_id = _licence_income(database, ledger)
    _distribute(database, ledger, income_id)
    with acting_as(ledger.actors["inventor"]), database.unit_of_work(write=False) as session:
        mine = rewards.statement(session)
        assert mine.name == "王发明"
        (entry,) = mine.entries
        assert entry.income.net == Decimal("90000.00")
        assert [d.kind for d in entry.income.deductions] == ["taxes", "direct-costs"]
        assert [line.name for line in entry.lines] == ["王发明"]
        assert entry.amount == Decimal("47250.00")
        assert entry.distribution is not None and entry.distribution.rules
        assert mine.total("requested") == Decimal("47250.00")
    with acting_as(ledger.actors["researcher_a"]), database.unit_of_work() as session:
        with pytest.raises(NotFound):
            rewards.statement(session, ledger.person)
        with pytest.raises(NotFound):
            rewards.statement(session)  # not linked to a person
    with (
        acting_as(ledger.actors["officer_b"]),
        database.unit_of_work() as session,
        pytest.raises(NotFound),
    ):
        rewards.statement(session, ledger.person)
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        assert rewards.statement(session, ledger.person).total("requested") == Decimal("47250.00")


def test_every_ledger_change_is_an_audit_event(database: Any, ledger: Ledger) -> None:
    income_id = _licence_income(database, ledger)
    d_id = _distribute(database, ledger, income_id)
    with database.unit_of_work() as session:
        kinds = {e.entity_kind for e in session.scalars(select(audit.AuditEvent))}
        assert {"ip_asset", "ip_deal", "ip_income_record", "ip_distribution"} <= kinds
        assert audit.verify_chain(session).ok
        distribution = session.get(Distribution, d_id)
        assert distribution is not None
        (event,) = audit.events_for(session, "ip_distribution", d_id)
        assert "47250.00" in (event.after or "")

"""Ledger invariants under random sequences of operations, and one distribution per income
record under 50 concurrent requests, on SQLite and (with SHELFBRIDGE_TEST_DATABASE_URL) on
PostgreSQL with row-level security in force."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from threading import Barrier
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from shelfbridge.accounts.actor import current_actor
from shelfbridge.core import audit
from shelfbridge.core.errors import Conflict, PermissionDenied, RuleViolation
from shelfbridge.ip import distribution as rewards
from shelfbridge.ip import service
from shelfbridge.ip.models import Distribution, DistributionLine, IncomeRecord, IpContributor
from tests import factories
from tests.ip.ledger_support import acting_as, build_ledger

THRESHOLD = Decimal("50000.00")
amounts = st.integers(min_value=1, max_value=10**11).map(lambda fen: Decimal(fen) / 100)
deduction_kinds = st.sampled_from(
    ["taxes", "maintenance", "direct-costs", "rd-costs-public", "rd-costs-other"]
)
deductions = st.lists(
    st.tuples(deduction_kinds, st.integers(min_value=1, max_value=10**9)), max_size=4
)
weights = st.lists(
    st.integers(min_value=1, max_value=10**6).map(lambda n: Decimal(n) / 100),
    min_size=1,
    max_size=6,
)


def test_random_operations_keep_the_ledger_invariants(database: Any) -> None:
    ledger = build_ledger(database)
    officers = [ledger.actors["officer_a"], ledger.actors["officer2_a"]]
    day = date(2024, 2, 1)

    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.deals: list[tuple[int, bool]] = []  # (deal id, equity)
            self.income: list[int] = []
            self.distributions: list[int] = []
            self.paid: set[int] = set()

        @rule(people=weights, equity=st.booleans())
        def new_asset_and_deal(self, people: list[Decimal], equity: bool) -> None:
            contributors = [
                {"name": f"人{i}", "weight": str(w), "main": i == 0} for i, w in enumerate(people)
            ]
            with acting_as(officers[0]), database.unit_of_work() as session:
                asset = factories.ip_asset(session, ledger.org_a, contributors=contributors)
                if equity:
                    deal = service.create_deal(
                        session,
                        asset.id,
                        {
                            "deal_type": "equity",
                            "counterparty_name": "公司",
                            "equity_shares": "1000",
                            "price_mode": "auction",
                        },
                    )
                    service.sign_deal(session, deal.id, date(2024, 1, 15))
                else:
                    deal = factories.ip_licence(session, asset.id)
                self.deals.append((deal.id, equity))

        @rule(data=st.data(), amount=amounts, cuts=deductions, shares=st.integers(1, 10**12))
        def record_income(self, data: Any, amount: Decimal, cuts: Any, shares: int) -> None:
            if not self.deals:
                return
            deal_id, equity = data.draw(st.sampled_from(self.deals))
            raw: dict[str, Any] = {"received_on": day.isoformat()}
            if equity:
                raw["shares"] = str(shares)
            else:
                raw["amount"] = f"{amount:f}"
                raw["deductions"] = [
                    {"kind": kind, "amount": f"{Decimal(fen) / 100:f}"} for kind, fen in cuts
                ]
            with acting_as(officers[0]), database.unit_of_work() as session:
                self.income.append(service.record_income(session, deal_id, raw).id)

        @rule(data=st.data(), who=st.integers(0, 1))
        def distribute(self, data: Any, who: int) -> None:
            if not self.income:
                return
            income_id = data.draw(st.sampled_from(self.income))
            try:
                with acting_as(officers[who]), database.unit_of_work() as session:
                    found = rewards.distribute(session, income_id, second_approval_above=THRESHOLD)
                    assert income_id not in self._distributed()
                    self.distributions.append(found.id)
            except Conflict:
                assert income_id in self._distributed()
            except RuleViolation:
                # the main contributors' weights fall below a binding share: nothing written
                assert income_id not in self._distributed()

        @rule(data=st.data(), who=st.integers(0, 1))
        def approve(self, data: Any, who: int) -> None:
            if not self.distributions:
                return
            ident = data.draw(st.sampled_from(self.distributions))
            try:
                with acting_as(officers[who]), database.unit_of_work() as session:
                    rewards.approve(session, ident)
            except (Conflict, PermissionDenied):
                pass

        @rule(data=st.data())
        def pay(self, data: Any) -> None:
            if not self.distributions:
                return
            ident = data.draw(st.sampled_from(self.distributions))
            try:
                with acting_as(officers[1]), database.unit_of_work() as session:
                    rewards.mark_paid(session, ident)
                assert ident not in self.paid, "paid twice"
                self.paid.add(ident)
            except Conflict:
                pass

        def _distributed(self) -> set[int]:
            with database.unit_of_work(write=False) as session:
                return set(session.scalars(select(Distribution.income_record_id)))

        @invariant()
        def ledger_holds(self) -> None:
            with acting_as(officers[0]), database.unit_of_work(write=False) as session:
                assert rewards.check_ledger(session) == []
                # received = distributed + retained + costs, summed over the whole ledger
                received, costs = session.execute(
                    select(func.sum(IncomeRecord.amount), func.sum(IncomeRecord.costs))
                ).one()
                pooled, kept = session.execute(
                    select(func.sum(Distribution.pool), func.sum(Distribution.retained))
                ).one()
                undistributed = session.scalar(
                    select(func.sum(IncomeRecord.net)).where(
                        IncomeRecord.id.not_in(select(Distribution.income_record_id))
                    )
                )
                total = sum(
                    (Decimal(x or 0) for x in (pooled, kept, costs, undistributed)), Decimal(0)
                )
                assert Decimal(received or 0) == total
                # every line pays a contributor of the distributed asset
                strays = session.scalar(
                    select(func.count())
                    .select_from(DistributionLine)
                    .join(Distribution, Distribution.id == DistributionLine.distribution_id)
                    .join(IpContributor, IpContributor.id == DistributionLine.contributor_id)
                    .where(IpContributor.asset_id != Distribution.asset_id)
                )
                assert strays == 0
                paid = session.scalar(
                    select(func.count())
                    .select_from(Distribution)
                    .where(Distribution.status == "paid")
                )
                assert paid == len(self.paid)

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=8,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    with database.unit_of_work(write=False) as session:
        assert audit.verify_chain(session).ok


def test_fifty_concurrent_distributions_of_one_income_record_one_succeeds(
    database: Any,
) -> None:
    ledger = build_ledger(database)
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        deal = factories.ip_licence(session, ledger.asset)
        income_id = factories.ip_income(session, deal.id).id
    start = Barrier(50)
    officers = [ledger.actors["officer_a"], ledger.actors["officer2_a"]]

    def attempt(n: int) -> str:
        current_actor.set(officers[n % 2])  # each thread starts with the anonymous actor
        start.wait()
        try:
            # separate sessions; on SQLite through the writer engine (BEGIN IMMEDIATE)
            with database.unit_of_work() as session:
                rewards.distribute(session, income_id, second_approval_above=THRESHOLD)
            return "ok"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert outcomes.count("ok") == 1, outcomes
    assert outcomes.count("conflict") == 49
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Distribution)) == 1
        lines = session.scalar(select(func.count()).select_from(DistributionLine))
        assert lines == 2
        assert rewards.check_ledger(session) == []
        assert audit.verify_chain(session).ok


@pytest.mark.parametrize("days", [0, 1])
def test_an_income_record_is_distributed_on_the_rules_of_the_day_it_was_received(
    database: Any, days: int
) -> None:
    """Beijing's regulation took effect on 2020-01-01: income received the day before is
    rewarded at the national 50%, from that day at Beijing's 70%."""
    ledger = build_ledger(database)
    received = date(2019, 12, 31) + timedelta(days=days)
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        deal = service.create_deal(
            session,
            ledger.asset,
            {"deal_type": "assignment", "counterparty_name": "公司", "price_mode": "auction"},
        )
        service.sign_deal(session, deal.id, date(2019, 12, 1))
        income = factories.ip_income(session, deal.id, received_on=received.isoformat())
        found = rewards.distribute(session, income.id, second_approval_above=THRESHOLD)
        assert found.percent == (Decimal("70") if days else Decimal("50"))

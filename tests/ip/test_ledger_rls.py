"""The second wall for the IP ledger (migration 0006): straight queries on the tables, without
the repository's filters, as the application's role with the caller set per transaction."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from shelfbridge.ip import distribution as rewards
from shelfbridge.ip.models import (
    Deal,
    Deduction,
    Distribution,
    DistributionLine,
    IncomeRecord,
    IpAsset,
    IpContributor,
    RewardPolicy,
)
from tests import factories
from tests.ip.ledger_support import Ledger, acting_as, build_ledger

pytestmark = pytest.mark.skipif(
    not os.environ.get("SHELFBRIDGE_TEST_DATABASE_URL"),
    reason="row-level security exists only on PostgreSQL",
)
MODELS = {
    "assets": IpAsset,
    "contributors": IpContributor,
    "policies": RewardPolicy,
    "deals": Deal,
    "income": IncomeRecord,
    "deductions": Deduction,
    "distributions": Distribution,
    "lines": DistributionLine,
}


@pytest.fixture
def ledger(database: Any) -> Ledger:
    built = build_ledger(database)
    with acting_as(built.actors["officer_a"]), database.unit_of_work() as session:
        from shelfbridge.ip import service

        service.set_policy(
            session, {"title": "办法", "effective_from": "2020-01-01", "net_income_percent": "70"}
        )
        deal = factories.ip_licence(session, built.asset)
        income = factories.ip_income(session, deal.id)
        rewards.distribute(session, income.id, second_approval_above=Decimal("1"))
    return built


def _counts(database: Any) -> dict[str, int]:
    with database.unit_of_work(write=False) as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in MODELS.items()
        }


def test_the_owners_officer_reads_the_whole_ledger(database: Any, ledger: Ledger) -> None:
    with acting_as(ledger.actors["officer_a"]):
        assert _counts(database) == {
            "assets": 1,
            "contributors": 2,
            "policies": 1,
            "deals": 1,
            "income": 1,
            "deductions": 2,
            "distributions": 1,
            "lines": 2,
        }


def test_a_contributor_reads_their_inventions_ledger_and_only_their_own_line(
    database: Any, ledger: Ledger
) -> None:
    with acting_as(ledger.actors["inventor"]):
        counts = _counts(database)
        with database.unit_of_work(write=False) as session:
            names = list(session.scalars(select(DistributionLine.name)))
    assert counts == {
        "assets": 1,
        "contributors": 2,  # a member of A: the names of A's contributors
        "policies": 0,
        "deals": 0,  # deal terms stay with the unit's officers
        "income": 1,
        "deductions": 2,
        "distributions": 1,
        "lines": 1,
    }
    assert names == ["王发明"]


def test_a_member_who_is_not_a_contributor_reads_assets_but_no_money(
    database: Any, ledger: Ledger
) -> None:
    with acting_as(ledger.actors["researcher_a"]):
        counts = _counts(database)
    assert counts["assets"] == 1 and counts["contributors"] == 2
    assert all(counts[k] == 0 for k in ("policies", "deals", "income", "distributions", "lines"))


def test_another_tenant_reads_and_writes_nothing(database: Any, ledger: Ledger) -> None:
    with acting_as(ledger.actors["officer_b"]):
        assert set(_counts(database).values()) == {0}
        with database.unit_of_work() as session:
            changed = session.execute(
                update(Distribution)
                .values(status="paid")
                .execution_options(synchronize_session=False)
            )
            assert changed.rowcount == 0  # type: ignore[attr-defined]
        with (
            pytest.raises(DBAPIError, match="row-level security"),
            database.unit_of_work() as session,
        ):
            session.execute(
                text(
                    "INSERT INTO ip_reward_policies (owner_org_id, title, jurisdiction,"
                    " unit_type, effective_from, created_at, updated_at)"
                    " VALUES (:org, 'x', 'CN', 'state-university', '2024-01-01', now(), now())"
                ),
                {"org": ledger.org_a},
            )


def test_the_contributor_cannot_change_their_own_payout(database: Any, ledger: Ledger) -> None:
    with acting_as(ledger.actors["inventor"]), database.unit_of_work() as session:
        changed = session.execute(
            update(DistributionLine)
            .values(amount=Decimal("99999.00"))
            .execution_options(synchronize_session=False)
        )
        assert changed.rowcount == 0  # type: ignore[attr-defined]

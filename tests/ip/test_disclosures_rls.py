"""The second wall for disclosures (migration 0008): straight queries on the tables, without
the service's filters, as the application's role with the caller set per transaction."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from shelfbridge.ip import disclosure_service
from shelfbridge.ip.disclosure_models import Disclosure, DisclosureContributor
from tests.ip.ledger_support import Ledger, acting_as, build_ledger

pytestmark = pytest.mark.skipif(
    not os.environ.get("SHELFBRIDGE_TEST_DATABASE_URL"),
    reason="row-level security exists only on PostgreSQL",
)


@pytest.fixture
def ledger(database: Any) -> Ledger:
    built = build_ledger(database)
    for who, inventors in (
        ("researcher_a", "甲:100"),  # written by a researcher, naming nobody linked
        ("officer_a", "王发明@IP-PER-1:50\n乙:50"),  # names the inventor's person
    ):
        with acting_as(built.actors[who]), database.unit_of_work() as session:
            disclosure_service.create(
                session, {"title": f"{who}的披露", "abstract": "摘要", "contributors": inventors}
            )
    return built


def _count(database: Any, model: Any) -> int:
    with database.unit_of_work(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("who", "disclosures", "contributors"),
    [
        ("officer_a", 2, 3),
        ("admin_a", 2, 3),
        ("researcher_a", 1, 3),  # their own; contributor rows are the unit's
        ("inventor", 1, 3),  # named in one
        ("officer_b", 0, 0),
    ],
)
def test_each_caller_reads_only_what_the_policy_allows(
    database: Any, ledger: Ledger, who: str, disclosures: int, contributors: int
) -> None:
    with acting_as(ledger.actors[who]):
        assert _count(database, Disclosure) == disclosures
        assert _count(database, DisclosureContributor) == contributors


def test_a_connection_without_a_caller_reads_nothing(database: Any, ledger: Ledger) -> None:
    from shelfbridge.accounts.actor import ANONYMOUS

    with acting_as(ANONYMOUS):
        assert _count(database, Disclosure) == 0


def test_another_tenant_cannot_take_over_or_change_a_disclosure(
    database: Any, ledger: Ledger
) -> None:
    with acting_as(ledger.actors["officer_b"]), database.unit_of_work() as session:
        changed = session.execute(update(Disclosure).values(title="改")).rowcount  # type: ignore[attr-defined]
        assert changed == 0
    with (
        acting_as(ledger.actors["researcher_a"]),
        pytest.raises(DBAPIError, match="row-level security"),
        database.unit_of_work() as session,
    ):
        session.execute(update(Disclosure).values(owner_org_id=ledger.org_b))

"""The second wall for disclosures (migrations 0008 and 0012): straight queries on the tables,
without the service's filters, as the application's role with the caller set per transaction.
An inventor's row is read with its disclosure and written by those who may write it."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from shelfbridge.accounts.actor import Actor, user_actor
from shelfbridge.accounts.models import User
from shelfbridge.ip import disclosure_service
from shelfbridge.ip.disclosure_models import Disclosure, DisclosureContributor
from tests import auth, factories
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
        ("researcher_a", 1, 1),  # their own, and its one inventor
        ("inventor", 1, 2),  # named in one: its two inventors
        ("officer_b", 0, 0),
    ],
)
def test_each_caller_reads_only_what_the_policy_allows(
    database: Any, ledger: Ledger, who: str, disclosures: int, contributors: int
) -> None:
    with acting_as(ledger.actors[who]):
        assert _count(database, Disclosure) == disclosures
        assert _count(database, DisclosureContributor) == contributors


def _written_by(database: Any, ledger: Ledger, who: str) -> int:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work(write=False) as session:
        return int(
            session.scalars(select(Disclosure.id).where(Disclosure.title == f"{who}的披露")).one()
        )


def _inventors(database: Any, actor: Actor) -> set[tuple[int, str]]:
    """The inventors' rows the actor reads: (disclosure, name)."""
    with acting_as(actor), database.unit_of_work(write=False) as session:
        rows = session.execute(
            select(DisclosureContributor.disclosure_id, DisclosureContributor.name)
        )
        return {(int(disclosure), str(name)) for disclosure, name in rows}


def _bystander(database: Any, ledger: Ledger) -> Actor:
    """A researcher of unit A, linked to a person, who neither wrote nor is named in anything."""
    user_id = auth.create_user(database, "ip-bystander", memberships=[("IP-ORG-A", "researcher")])
    with database.unit_of_work() as session:
        person_id = factories.person(session, name="旁观者", external_id="IP-PER-9").id
        session.scalars(select(User).where(User.id == user_id)).one().person_id = person_id
    return user_actor(user_id, "ip-bystander", False, person_id, [(ledger.org_a, "researcher")])


def test_a_member_neither_author_nor_named_reads_no_inventors(
    database: Any, ledger: Ledger
) -> None:
    bystander = _bystander(database, ledger)
    with acting_as(bystander):
        assert _count(database, Disclosure) == 0
    assert _inventors(database, bystander) == set()


def test_a_named_inventor_reads_the_co_inventors_of_that_disclosure_only(
    database: Any, ledger: Ledger
) -> None:
    named_in = _written_by(database, ledger, "officer_a")
    assert _inventors(database, ledger.actors["inventor"]) == {
        (named_in, "王发明"),
        (named_in, "乙"),
    }


def test_naming_and_unnaming_an_inventor_changes_who_reads_the_disclosure_and_its_rows(
    database: Any, ledger: Ledger
) -> None:
    inventor = ledger.actors["inventor"]
    officers, own = (
        _written_by(database, ledger, "officer_a"),
        _written_by(database, ledger, "researcher_a"),
    )
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        disclosure_service.update(session, officers, {"contributors": "乙:100"})
    with acting_as(inventor):
        assert _count(database, Disclosure) == 0
    assert _inventors(database, inventor) == set()
    with acting_as(ledger.actors["researcher_a"]), database.unit_of_work() as session:
        disclosure_service.update(session, own, {"contributors": "甲:50\n王发明@IP-PER-1:50"})
    with acting_as(inventor), database.unit_of_work(write=False) as session:
        assert list(session.scalars(select(Disclosure.id))) == [own]
    assert _inventors(database, inventor) == {(own, "甲"), (own, "王发明")}


def test_the_policy_reads_who_is_named_from_the_disclosure(database: Any, ledger: Ledger) -> None:
    """Rows alone name nobody: the persons kept on the disclosure decide (no recursion)."""
    named_in = _written_by(database, ledger, "officer_a")
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        session.execute(
            update(Disclosure).where(Disclosure.id == named_in).values(named_person_ids="")
        )
    with acting_as(ledger.actors["inventor"]):
        assert _count(database, Disclosure) == 0
    assert _inventors(database, ledger.actors["inventor"]) == set()


def _row(disclosure: int, owner: int) -> dict[str, Any]:
    return {
        "disclosure_id": disclosure,
        "owner_org_id": owner,
        "position": 9,
        "name": "冒名",
        "share": Decimal("1.00"),
        "main": False,
    }


def test_a_member_cannot_write_the_inventors_of_a_disclosure_they_cannot_write(
    database: Any, ledger: Ledger
) -> None:
    named_in = _written_by(database, ledger, "officer_a")  # the inventor reads it, never writes
    for who in ("inventor", "researcher_a"):
        with acting_as(ledger.actors[who]), database.unit_of_work() as session:
            rows = DisclosureContributor.disclosure_id == named_in
            changed = session.execute(update(DisclosureContributor).where(rows).values(name="改"))
            deleted = session.execute(delete(DisclosureContributor).where(rows))
            assert (changed.rowcount, deleted.rowcount) == (0, 0)  # type: ignore[attr-defined]
        with (
            acting_as(ledger.actors[who]),
            pytest.raises(DBAPIError, match="row-level security"),
            database.unit_of_work() as session,
        ):
            session.execute(insert(DisclosureContributor).values(**_row(named_in, ledger.org_a)))
    assert len(_inventors(database, ledger.actors["officer_a"])) == 3


def test_an_inventors_row_cannot_point_into_another_tenants_disclosure(
    database: Any, ledger: Ledger
) -> None:
    target = _written_by(database, ledger, "officer_a")
    for who in ("officer_b", "officer_a"):  # B's own owner; A's officer naming B as owner
        with (
            acting_as(ledger.actors[who]),
            pytest.raises(DBAPIError, match="row-level security"),
            database.unit_of_work() as session,
        ):
            session.execute(insert(DisclosureContributor).values(**_row(target, ledger.org_b)))


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

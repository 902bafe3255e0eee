"""Distributing many income records at once (``distribute_many`` and ``shelfbridge rewards
distribute``), and the fast path of one request writing what the ORM would have written."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from shelfbridge.core import audit
from shelfbridge.core.errors import NotFound
from shelfbridge.ip import distributing
from shelfbridge.ip import distribution as rewards
from shelfbridge.ip.models import Distribution, DistributionLine
from tests import factories
from tests.ip.ledger_support import Ledger, acting_as, build_ledger

THRESHOLD = Decimal("50000.00")
AMOUNTS = ("100000.00", "12345.67", "999.99", "100000.00")


def _incomes(database: Any, ledger: Ledger, amounts: tuple[str, ...] = AMOUNTS) -> list[int]:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        deal = factories.ip_licence(session, ledger.asset)
        return [int(factories.ip_income(session, deal.id, amount=a).id) for a in amounts]


def _rows(database: Any, ledger: Ledger) -> dict[int, tuple[Distribution, list[Any]]]:
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work(write=False) as session:
        found = {}
        for d in session.scalars(select(Distribution)):
            found[d.income_record_id] = (d, [(line.amount, line.name) for line in d.lines])
        return found


def test_a_batch_distributes_each_record_once_and_reports_the_rest(database: Any) -> None:
    ledger = build_ledger(database)
    first, *others = _incomes(database, ledger)
    officer = ledger.actors["officer_a"]
    with acting_as(officer), database.unit_of_work() as session:
        rewards.distribute(session, first, second_approval_above=THRESHOLD)
    with acting_as(officer), database.unit_of_work() as session:
        report = rewards.distribute_many(
            session, [first, *others, 999_999], second_approval_above=THRESHOLD
        )
    assert [income for income, _ in report.distributed] == others
    assert report.skipped == [first]
    assert [(income, type(error)) for income, error in report.failed] == [(999_999, NotFound)]
    with acting_as(officer), database.unit_of_work() as session:
        again = rewards.distribute_many(session, [first, *others], second_approval_above=THRESHOLD)
        assert (again.distributed, again.skipped) == ([], [first, *others])
        assert rewards.pending_income(session, ledger.org_a) == []
        assert rewards.check_ledger(session) == []
        assert audit.verify_chain(session).ok
        for income in [first, *others]:
            events = [
                e
                for e in session.scalars(select(audit.AuditEvent))
                if e.entity_kind == "ip_distribution" and f'"income_record_id":{income},' in e.after
            ]
            assert len(events) == 1
    for distribution, lines in _rows(database, ledger).values():
        assert sum(amount for amount, _ in lines) == distribution.pool


def test_a_batch_writes_the_same_rows_and_events_as_one_request_at_a_time(
    database: Any,
) -> None:
    ledger = build_ledger(database)
    one, many = _incomes(database, ledger, ("100000.00", "100000.00"))
    officer = ledger.actors["officer_a"]
    with acting_as(officer), database.unit_of_work() as session:
        rewards.distribute(session, one, second_approval_above=THRESHOLD)
    with acting_as(officer), database.unit_of_work() as session:
        rewards.distribute_many(session, [many], second_approval_above=THRESHOLD)
    rows = _rows(database, ledger)
    columns = [c.key for c in Distribution.__mapper__.column_attrs]
    unlike = {"id", "income_record_id", "created_at", "updated_at"}

    def comparable(income: int) -> tuple[Any, ...]:
        d, lines = rows[income]
        return tuple(getattr(d, c) for c in columns if c not in unlike), lines

    assert comparable(one) == comparable(many)
    with acting_as(officer), database.unit_of_work(write=False) as session:
        after = {}
        for event in session.scalars(select(audit.AuditEvent)):
            if event.entity_kind == "ip_distribution":
                d, _ = rows[one] if f'"income_record_id":{one},' in event.after else rows[many]
                after[d.income_record_id] = (
                    event.after.replace(f'"id":{d.id},', "").replace(
                        f'"income_record_id":{d.income_record_id},', ""
                    ),
                    event.actor,
                )
    assert after[one] == after[many]


def test_a_record_the_caller_does_not_manage_is_reported_and_left_alone(database: Any) -> None:
    ledger = build_ledger(database)
    ids = _incomes(database, ledger, ("100000.00",))
    with acting_as(ledger.actors["officer_b"]), database.unit_of_work() as session:
        report = rewards.distribute_many(session, ids, second_approval_above=THRESHOLD)
        assert rewards.pending_income(session) == []
    assert report.distributed == [] and [i for i, _ in report.failed] == ids
    assert _rows(database, ledger) == {}


def test_the_audit_event_of_a_request_is_the_one_the_orm_hooks_would_write(
    database: Any,
) -> None:
    """The fast path inserts with Core and writes the event itself; the ORM, given the same
    distribution, writes the same snapshot byte for byte."""
    ledger = build_ledger(database)
    (income,) = _incomes(database, ledger, ("12345.67",))
    officer = ledger.actors["officer_a"]
    with acting_as(officer):
        session = database.session(write=True)
        try:
            cases = distributing.lock_cases(session, [income])
            case = cases[0]
            planned = distributing.plan(
                case,
                distributing.payees(session, [case.asset_id])[case.asset_id],
                None,
                second_approval_above=THRESHOLD,
                requested_by=officer.label,
                requested_by_user_id=officer.user_id,
            )
            orm = Distribution(
                **{k: v for k, v in planned.row.items() if k != "id"},
            )
            orm.lines = [
                DistributionLine(
                    **{k: v for k, v in line.items() if k not in ("id", "distribution_id")}
                )
                for line in planned.lines
            ]
            session.add(orm)
            session.flush()
            (written,) = session.info["audit_buffer"]
            planned.row["id"] = orm.id
            ours = distributing.make_event(planned, written.actor)
            assert (ours.action, ours.entity_kind, ours.entity_id, ours.external_id) == (
                written.action,
                written.entity_kind,
                written.entity_id,
                written.external_id,
            )
            assert (ours.before, ours.after) == (written.before, written.after)
        finally:
            session.rollback()
            session.close()
    with acting_as(officer), database.unit_of_work() as session:
        returned = rewards.distribute(session, income, second_approval_above=THRESHOLD)
        # the object handed back is the one the session knows, its lines loaded on first use
        assert session.get(Distribution, returned.id) is returned
        assert sum(line.amount for line in returned.lines) == returned.pool
        assert not session.dirty and not session.new
    with database.unit_of_work(write=False) as session:
        (event,) = audit.events_for(session, "ip_distribution", returned.id)
        assert event.after == written.after.replace(f'"id":{orm.id},', f'"id":{returned.id},')


def test_the_command_distributes_a_units_pending_income_in_chunks(
    database: Any, run_cli: Any
) -> None:
    ledger = build_ledger(database)
    ids = _incomes(database, ledger)
    with acting_as(ledger.actors["officer_a"]), database.unit_of_work() as session:
        rewards.distribute(session, ids[0], second_approval_above=THRESHOLD)
    result = run_cli("rewards", "distribute", "--org", "IP-ORG-A", "--chunk", "2", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "Distributed 3 income records" in result.stdout
    assert set(_rows(database, ledger)) == set(ids)
    again = run_cli("rewards", "distribute", "--org", "IP-ORG-A", "--lang", "en")
    assert again.exit_code == 0 and "Distributed 0 income records" in again.stdout
    unknown = run_cli("rewards", "distribute", "--org", "NO-SUCH-ORG", "--lang", "en")
    assert unknown.exit_code == 2


def test_a_record_distributed_behind_the_batchs_back_is_skipped_and_the_rest_inserted(
    database: Any, monkeypatch: Any
) -> None:
    """UNIQUE (income_record_id) decides: a distribution the batch did not see (as if it got
    in between the check and the insert) makes the chunk's insert clash; the batch drops that
    record, inserts the others again and writes one audit event per distribution."""
    from shelfbridge.ip import distribution_batch

    ledger = build_ledger(database)
    taken, *others = _incomes(database, ledger)
    officer = ledger.actors["officer_a"]
    with acting_as(officer), database.unit_of_work() as session:
        rewards.distribute(session, taken, second_approval_above=THRESHOLD)
    real = distribution_batch.already_distributed
    calls: list[int] = []

    def blind_once(session: Any, ids: Any) -> set[int]:
        calls.append(1)
        return set() if len(calls) == 1 else real(session, ids)

    monkeypatch.setattr(distribution_batch, "already_distributed", blind_once)
    with acting_as(officer), database.unit_of_work() as session:
        report = rewards.distribute_many(session, [taken, *others], second_approval_above=THRESHOLD)
    assert report.skipped == [taken]
    assert [income for income, _ in report.distributed] == others
    with acting_as(officer), database.unit_of_work(write=False) as session:
        assert rewards.check_ledger(session) == []
        assert audit.verify_chain(session).ok
        kinds = [e.entity_kind for e in session.scalars(select(audit.AuditEvent))]
        assert kinds.count("ip_distribution") == len(AMOUNTS)

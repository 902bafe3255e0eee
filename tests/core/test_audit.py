"""The audit trail: one event per change, in the same transaction, on an unbreakable chain."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from shelfbridge.core import audit
from shelfbridge.core.audit import AuditEvent
from shelfbridge.registry import service
from tests import factories


def _events(database: Any) -> list[AuditEvent]:
    with database.unit_of_work(write=False) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _make_history(database: Any) -> None:
    with database.unit_of_work() as session:
        org = factories.organization(session)
        for n in range(4):
            factories.result(session, owner=org.external_id, title=f"成果{n}")
    with database.unit_of_work() as session:
        result = session.scalars(
            select(audit.AuditEvent.entity_id).where(AuditEvent.entity_kind == "result")
        ).first()
        service.update(session, "results", result, {"trl": 7})


def test_create_update_delete_each_write_one_event_with_before_and_after(database: Any) -> None:
    token = audit.current_actor.set("tester")
    try:
        with database.unit_of_work() as session:
            org = factories.organization(session)
            record = factories.result(session, owner=org.external_id, contributors="甲:50;乙:50")
            record_id = record.id
        with database.unit_of_work() as session:
            service.update(session, "results", record_id, {"trl": 8, "contributors": "甲:100"})
        with database.unit_of_work() as session:
            service.delete(session, "results", record_id)
    finally:
        audit.current_actor.reset(token)
    events = [e for e in _events(database) if e.entity_kind == "result"]
    assert [e.action for e in events] == ["create", "update", "delete"]
    created, updated, deleted = events
    assert created.before is None and json.loads(created.after)["trl"] == 4
    assert json.loads(updated.before)["trl"] == 4 and json.loads(updated.after)["trl"] == 8
    assert [c["share"] for c in json.loads(updated.before)["contributors"]] == ["50.00", "50.00"]
    assert [c["share"] for c in json.loads(updated.after)["contributors"]] == ["100.00"]
    assert json.loads(deleted.before)["id"] == record_id and deleted.after is None
    assert all(e.actor == "tester" for e in events)


def test_an_update_that_changes_nothing_writes_no_event(database: Any) -> None:
    with database.unit_of_work() as session:
        record_id = factories.organization(session, name="同一个名字").id
    before = len(_events(database))
    with database.unit_of_work() as session:
        service.update(session, "organizations", record_id, {"name": "同一个名字"})
    assert len(_events(database)) == before


def test_a_rolled_back_change_leaves_no_event(database: Any) -> None:
    before = len(_events(database))
    with pytest.raises(RuntimeError), database.unit_of_work() as session:
        factories.organization(session)
        raise RuntimeError("abort")
    assert len(_events(database)) == before


def test_a_rolled_back_savepoint_takes_back_only_its_own_events(database: Any) -> None:
    before = {e.seq for e in _events(database)}
    with database.unit_of_work() as session:
        kept = factories.organization(session, name="保留的单位")
        session.flush()
        with pytest.raises(RuntimeError), session.begin_nested():
            factories.organization(session, name="撤回的单位")
            session.flush()
            raise RuntimeError("savepoint abort")
        also_kept = factories.organization(session, name="其后的单位")
        kept_ids = {kept.id, also_kept.id}
    new = [e for e in _events(database) if e.seq not in before]
    assert {e.entity_id for e in new} == kept_ids
    assert [json.loads(e.after)["name"] for e in new] == ["保留的单位", "其后的单位"]
    with database.unit_of_work(write=False) as session:
        assert audit.verify_chain(session).ok


def test_the_database_refuses_to_change_or_delete_events(database: Any) -> None:
    _make_history(database)
    for statement in (
        "UPDATE audit_events SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 1",
        "UPDATE audit_checkpoint SET head_seq = 1",
        "DELETE FROM audit_checkpoint",
    ):
        with pytest.raises(DBAPIError), database.unit_of_work() as session:
            session.execute(text(statement))
    assert audit.verify_chain(database.session(write=False)).ok


def test_intact_chain_verifies_from_the_cli(database: Any, run_cli: Any) -> None:
    _make_history(database)
    outcome = run_cli("audit", "verify")
    assert outcome.exit_code == 0, outcome.output
    assert "intact" in outcome.output


def test_the_application_role_cannot_get_around_the_triggers(database: Any) -> None:
    if database.dialect == "sqlite":
        pytest.skip("SQLite has no roles: whoever can open the file can drop the triggers")
    _make_history(database)
    for statement in (
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
        "TRUNCATE audit_events",
        "DROP TRIGGER audit_events_no_change ON audit_events",
    ):
        with (
            pytest.raises(DBAPIError, match="must be owner|permission denied"),
            database.writer.begin() as conn,
        ):
            conn.exec_driver_sql(statement)
    assert audit.verify_chain(database.session(write=False)).ok


# ---- forgeries: the attacker gets around the triggers, as the owner of the tables could
# (``owner_database``: on PostgreSQL the application's own role may not even try)
def _forge(database: Any, statements: list[str]) -> None:
    with database.writer.begin() as conn:
        if database.dialect == "sqlite":
            for name in (
                "audit_events_no_update",
                "audit_events_no_delete",
                "audit_checkpoint_forward_only",
                "audit_checkpoint_no_delete",
            ):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
            conn.exec_driver_sql("ALTER TABLE audit_checkpoint DISABLE TRIGGER USER")
        for statement in statements:
            conn.exec_driver_sql(statement)


def _copy_row_sql(seq: int, new_seq: int) -> str:
    columns = (
        "occurred_at, actor, action, entity_kind, entity_id, external_id, before, after, "
        "prev_hash, hash"
    )
    return (
        f"INSERT INTO audit_events (seq, {columns}) SELECT {new_seq}, {columns} "
        f"FROM audit_events WHERE seq = {seq}"
    )


FORGERIES = {
    "edited": (
        ["UPDATE audit_events SET after = replace(after, '\"trl\":7', '\"trl\":9') WHERE seq = 6"],
        6,
    ),
    "deleted": (["DELETE FROM audit_events WHERE seq = 3"], 3),
    "reordered": (
        [
            "UPDATE audit_events SET seq = 100 WHERE seq = 3",
            "UPDATE audit_events SET seq = 3 WHERE seq = 4",
            "UPDATE audit_events SET seq = 4 WHERE seq = 100",
        ],
        3,
    ),
    "inserted": (
        [
            "UPDATE audit_events SET seq = seq + 100 WHERE seq >= 4",
            "UPDATE audit_events SET seq = seq - 99 WHERE seq >= 104",
            _copy_row_sql(2, 4),
        ],
        4,
    ),
    "tail cut": (["DELETE FROM audit_events WHERE seq = 6"], 6),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_each_forgery_is_detected_and_named(
    database: Any, owner_database: Any, run_cli: Any, forgery: str
) -> None:
    _make_history(database)
    with database.unit_of_work(write=False) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 6
    statements, first_bad = FORGERIES[forgery]
    _forge(owner_database, statements)
    with database.unit_of_work(write=False) as session:
        report = audit.verify_chain(session)
    assert not report.ok
    assert report.first_bad_seq == first_bad
    outcome = run_cli("audit", "verify")
    assert outcome.exit_code == 1
    assert f"sequence {first_bad}" in outcome.output


def test_a_published_head_catches_a_rewritten_tail(
    database: Any, owner_database: Any, run_cli: Any
) -> None:
    _make_history(database)
    published = run_cli("audit", "head").output.strip()
    # Rewrite history consistently, checkpoint included: only the published head notices.
    _forge(
        owner_database,
        [
            "DELETE FROM audit_events WHERE seq = 6",
            "UPDATE audit_checkpoint SET head_seq = 5, head_hash = "
            "(SELECT hash FROM audit_events WHERE seq = 5)",
        ],
    )
    assert run_cli("audit", "verify").exit_code == 0
    outcome = run_cli("audit", "verify", "--expect", published)
    assert outcome.exit_code == 1
    assert "sequence 6" in outcome.output

"""The change counter (migration 0011): every table but the security events raises it on
commit, whoever writes; the state that memories are filed under follows it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import inspect, text

from shelfbridge.accounts import security
from shelfbridge.accounts.actor import SYSTEM, current_actor, user_actor
from shelfbridge.core.versions import COUNTER_QUERY, state_of, take_request_counter
from shelfbridge.migrations.change_tracking import (
    UNTRACKED,
    postgresql_trigger_names,
    sqlite_trigger_names,
)
from tests import factories


def _counter(database: Any) -> int:
    with database.reader.connect() as connection:
        return int(connection.exec_driver_sql(COUNTER_QUERY).scalar_one())


def _triggers(database: Any) -> set[str]:
    with database.reader.connect() as connection:
        if database.dialect == "postgresql":
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        return {str(row[0]) for row in connection.exec_driver_sql(query)}


def test_every_table_but_the_security_events_raises_the_counter(owner_database: Any) -> None:
    """A table created or rebuilt by a later migration without ``change_tracking.track``
    fails here."""
    tables = set(inspect(owner_database.reader).get_table_names())
    assert {"results", "users", "audit_events", "alembic_version"} <= tables
    triggers = _triggers(owner_database)
    names = (
        postgresql_trigger_names if owner_database.dialect == "postgresql" else sqlite_trigger_names
    )
    missing = {
        table: [n for n in names(table) if n not in triggers]
        for table in sorted(tables - UNTRACKED)
    }
    assert {table: lacking for table, lacking in missing.items() if lacking} == {}
    assert not any(name in triggers for table in UNTRACKED for name in names(table))


def test_a_commit_raises_the_counter_once_and_a_rollback_not_at_all(database: Any) -> None:
    before = _counter(database)
    current_actor.set(SYSTEM)
    with database.unit_of_work() as session:
        factories.organization(session)
        factories.organization(session)
    after = _counter(database)
    # SQLite counts rows (one trigger per row), PostgreSQL transactions: more, never fewer.
    assert after > before
    if database.dialect == "postgresql":
        assert after == before + 1
    with pytest.raises(RuntimeError), database.unit_of_work() as session:
        factories.organization(session)
        session.flush()
        raise RuntimeError("abandoned")
    assert _counter(database) == after


def test_security_events_leave_the_state_alone_and_data_changes_it(database: Any) -> None:
    probe = state_of(database.reader)
    if database.dialect == "sqlite" and probe.path is None:
        pytest.skip("an in-memory SQLite database has no state")
    first = probe.current()
    assert first is not None
    security.begin()
    security.note("denied", "test", target_kind="results", target_id=1)
    assert security.flush(database) == 1  # a denial is written at once
    current_actor.set(user_actor(7, "reader", False, None, []))
    security.begin()
    security.note_read("results", 1, "internal")
    assert security.flush(database) == 0  # a read waits in the buffer
    assert security.drain(database) == 1
    with database.reader.connect() as connection:
        written = connection.exec_driver_sql("SELECT count(*) FROM security_events")
        assert written.scalar_one() >= 2
    assert probe.current() == first
    current_actor.set(SYSTEM)
    with database.unit_of_work() as session:
        factories.organization(session)
    assert probe.current() != first


def test_a_write_from_outside_the_application_changes_the_state(owner_database: Any) -> None:
    """Another program (``psql``, ``sqlite3``, a script) writing straight into a table."""
    probe = state_of(owner_database.reader)
    first = probe.current()
    assert first is not None
    now = datetime.now(UTC).isoformat()
    with owner_database.writer.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO regions (code, name, level, source)"
                " VALUES ('999999', '外部', 'province', :source)"
            ),
            {"source": f"outside {now}"},
        )
    assert probe.current() != first


def test_the_counter_read_for_a_requests_credentials_serves_its_first_unit_of_work_once(
    database: Any,
) -> None:
    """PostgreSQL: the probe's read spares the list memory a round trip, once, and not after
    a commit through the engine (what was read before it is older than the commit)."""
    if database.dialect != "postgresql":
        pytest.skip("SQLite's state costs no round trip: there is nothing to spare")
    probe = state_of(database.reader)
    state = probe.current()
    assert state is not None
    assert take_request_counter(database.reader) == _counter(database)
    assert take_request_counter(database.reader) is None  # once
    probe.current()
    assert take_request_counter(database.writer.execution_options(other=True)) is None
    current_actor.set(SYSTEM)
    with database.unit_of_work() as session:
        factories.organization(session)
    assert take_request_counter(database.reader) is None  # the commit made it old


def test_a_postgresql_probe_that_cannot_connect_gives_no_state_and_waits_before_retrying(
    monkeypatch: Any,
) -> None:
    """No state means requests read afresh; the wait keeps a down server from costing every
    request two connection attempts on the event loop."""
    from sqlalchemy import create_engine

    from shelfbridge.core import versions

    attempts: list[int] = []
    real = versions._autocommit_connection

    def counted(engine: Any) -> Any:
        attempts.append(1)
        return real(engine)

    monkeypatch.setattr(versions, "_autocommit_connection", counted)
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    probe = versions.DatabaseState(engine)
    assert probe.current() is None
    assert len(attempts) == 2  # the connection is made afresh once
    assert probe.current() is None
    assert len(attempts) == 2  # not again within PROBE_RETRY_AFTER
    monkeypatch.setattr(versions, "PROBE_RETRY_AFTER", 0.0)
    probe._retry_at = 0.0
    assert probe.current() is None
    assert len(attempts) == 4
    engine.dispose()

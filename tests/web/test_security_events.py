"""Every read of a non-public record is a security event. Reads wait in a buffer and are
written together (``accounts.security``): shortly, on their own, and never lost without a
word when a write fails."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from shelfbridge.accounts import security
from shelfbridge.accounts.models import SecurityEvent
from shelfbridge.core.database import Database
from tests.accounts.matrix_support import World, api_headers, build_world, sign_everyone_in


@pytest.fixture
def world(app: Any, database: Any) -> World:
    world = build_world(database)
    sign_everyone_in(app, world)
    return world


@pytest.fixture
def api(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _reads(database: Database) -> list[tuple[str, str | None, int | None, str | None]]:
    with database.unit_of_work(write=False) as session:
        rows = session.execute(
            select(
                SecurityEvent.actor,
                SecurityEvent.target_kind,
                SecurityEvent.target_id,
                SecurityEvent.path,
            )
            .where(SecurityEvent.action == "read")
            .order_by(SecurityEvent.id)
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]


def _wait_for(database: Database, count: int) -> list[Any]:
    deadline = time.monotonic() + 10 * security.FLUSH_AFTER + 5
    while True:
        found = _reads(database)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_every_read_of_a_non_public_record_is_written_shortly(
    database: Any, world: World, api: TestClient
) -> None:
    internal = world.records["result_internal_a"]
    officer = api_headers(world, "officer_a")
    listed = api.get("/api/v1/results", headers=officer).json()["items"]
    assert internal in [item["id"] for item in listed]
    assert api.get(f"/api/v1/results/{internal}", headers=officer).status_code == 200
    assert api.get(f"/api/v1/results/{world.records['result_public_a']}").status_code == 200
    api.get("/api/v1/results")  # anonymous: sees public records only, notes nothing
    # written by the buffer's own thread, without anyone asking
    reads = _wait_for(database, 2)
    assert reads == [
        ("user:mx-officer-a", "results", internal, "/api/v1/results"),
        ("user:mx-officer-a", "results", internal, f"/api/v1/results/{internal}"),
    ]
    assert security.waiting() == 0


def test_a_denial_writes_the_reads_before_it_at_once(
    database: Any, world: World, api: TestClient
) -> None:
    officer = api_headers(world, "officer_a")
    api.get("/api/v1/results", headers=officer)
    assert api.get("/api/v1/auth/me").status_code == 401  # refused: signed-in users only
    with database.unit_of_work(write=False) as session:
        actions = list(session.scalars(select(SecurityEvent.action).order_by(SecurityEvent.id)))
    assert actions == ["read", "denied"]


def test_a_failed_write_keeps_the_events_says_so_and_tries_again(
    database: Any, world: World, api: TestClient, monkeypatch: Any, caplog: Any
) -> None:
    real_insert = security.insert
    failures = {"left": 1}

    def failing_insert(table: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real_insert(table)

    monkeypatch.setattr(security, "insert", failing_insert)
    internal = world.records["result_internal_a"]
    with caplog.at_level(logging.ERROR, logger="shelfbridge.accounts.security"):
        api.get(f"/api/v1/results/{internal}", headers=api_headers(world, "officer_a"))
        # the first write fails; the next try (one second later) writes the event once
        reads = _wait_for(database, 1)
    assert [r[2] for r in reads] == [internal]
    assert failures["left"] == 0
    assert any("could not write 1 security events" in r.getMessage() for r in caplog.records)
    time.sleep(2 * security.FLUSH_AFTER)
    assert len(_reads(database)) == 1  # written once, not again


def test_events_given_up_are_logged_in_full(
    database: Any, world: World, api: TestClient, monkeypatch: Any, caplog: Any
) -> None:
    def failing_insert(table: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(security, "insert", failing_insert)
    monkeypatch.setattr(security, "MAX_WAITING", 1)
    internal = world.records["result_internal_a"]
    officer = api_headers(world, "officer_a")
    with caplog.at_level(logging.ERROR, logger="shelfbridge.accounts.security"):
        api.get(f"/api/v1/results/{internal}", headers=officer)
        api.get(f"/api/v1/results/{internal}?again=1", headers=officer)
        assert security.drain(database) == 0
        security.drain(database)
    given_up = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert given_up and all(f'"target_id": {internal}' in m for m in given_up)
    assert security.waiting() == 1  # the newest still waits for the database to come back
    monkeypatch.undo()
    security.drain(database)
    assert [r[3] for r in _reads(database)] == [f"/api/v1/results/{internal}"]


def test_waiting_events_are_written_when_the_database_is_let_go(
    db_url: str, world: World, api: TestClient, monkeypatch: Any
) -> None:
    monkeypatch.setattr(security, "FLUSH_AFTER", 3600.0)  # only the disposal writes them
    internal = world.records["result_internal_a"]
    api.get(f"/api/v1/results/{internal}", headers=api_headers(world, "officer_a"))
    app_database: Database = api.app.state.database  # type: ignore[attr-defined]
    assert security.waiting() == 1
    app_database.dispose()
    assert security.waiting() == 0
    assert [r[2] for r in _reads(app_database)] == [internal]


def test_waiting_events_are_written_when_the_application_stops(
    app: Any, database: Any, world: World, monkeypatch: Any
) -> None:
    monkeypatch.setattr(security, "FLUSH_AFTER", 3600.0)  # only the shutdown writes them
    internal = world.records["result_internal_a"]
    with TestClient(app) as client:
        client.get(f"/api/v1/results/{internal}", headers=api_headers(world, "officer_a"))
        assert security.waiting() == 1
    assert security.waiting() == 0
    assert [r[2] for r in _reads(database)] == [internal]

"""The JSON list of results reads only the columns it shows, and lists remember their totals
and page positions per state of the database (``repository.ListMemory``). Both must answer
exactly as the record-by-record path does, for every caller, and never with a count or a page
from before a commit."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import make_url

from shelfbridge.accounts import security
from shelfbridge.accounts.actor import ANONYMOUS, SYSTEM, Actor, current_actor, user_actor
from shelfbridge.accounts.authn import Authenticated, resolve_token
from shelfbridge.accounts.models import SharingGrant, User
from shelfbridge.accounts.visibility import visible_clause
from shelfbridge.registry import repository
from shelfbridge.registry.models import Result
from tests import factories
from tests.accounts.matrix_support import (
    ACTORS,
    World,
    api_headers,
    build_world,
    new_result,
    sign_everyone_in,
    username,
)


@pytest.fixture
def world(app: Any, database: Any) -> World:
    """The matrix cast and tenant A's records, plus what makes the hidden-field rules differ:
    a partners result shared with B whose contributor is officer_b's person, a result of B,
    results without owner, and contributors linked to people."""
    world = build_world(database)
    with database.unit_of_work() as session:
        person = factories.person(session, organization=world.org_ext["b"])
        linked = f"甲@{person.external_id}:70;乙:30"
        shared = new_result(session, world, "partners", contributors=linked)
        world.records["result_partners_a"] = shared.id
        world.records["result_public_linked"] = new_result(
            session, world, "public", contributors=linked
        ).id
        world.records["result_internal_b"] = factories.result(
            session, owner=world.org_ext["b"], confidentiality="internal", contributors="丙:100"
        ).id
        world.records["result_no_owner"] = factories.result(session, contributors="丁:100").id
        session.add(
            SharingGrant(
                record_kind="results",
                record_id=shared.id,
                owner_org_id=world.org_ids["a"],
                grantee_org_id=world.org_ids["b"],
            )
        )
        session.execute(
            update(User).where(User.username == username("officer_b")).values(person_id=person.id)
        )
    sign_everyone_in(app, world)
    return world


@pytest.fixture
def api(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _actor(app: Any, database: Any, world: World, actor: str) -> Actor:
    if actor == "anonymous":
        return ANONYMOUS
    found = resolve_token(database, world.tokens[actor], app.state.accounts)
    assert isinstance(found, Authenticated)
    return found.actor


def _visible_ids(database: Any, actor: Actor) -> list[int]:
    with database.unit_of_work(write=False) as session:
        statement = select(Result.id).where(visible_clause(Result, actor))
        return list(session.scalars(statement.order_by(Result.id.desc())))


def test_each_caller_gets_exactly_what_its_records_show(
    app: Any, database: Any, world: World, api: TestClient
) -> None:
    """Every listed item equals the record's own response (the ORM path: same fields, values,
    hidden fields and order), and the list holds exactly the records the caller may see."""
    shares_seen: dict[str, set[int]] = {}
    for actor in ACTORS:
        headers = api_headers(world, actor)
        listed = api.get("/api/v1/results", params={"limit": 200}, headers=headers).json()
        expected = _visible_ids(database, _actor(app, database, world, actor))
        assert [item["id"] for item in listed["items"]] == expected, actor
        assert listed["total"] == len(expected), actor
        for item in listed["items"]:
            one = api.get(f"/api/v1/results/{item['id']}", headers=headers)
            assert one.status_code == 200, (actor, item["id"])
            assert json.dumps(one.json()) == json.dumps(item), (actor, item["id"])
        shares_seen[actor] = {i["id"] for i in listed["items"] if i["contributors"]}
    records = world.records
    # The rules differ between callers, so the comparison above can fail.
    assert shares_seen["anonymous"] == set()
    assert records["result_internal_a"] in shares_seen["officer_a"]
    assert records["result_internal_a"] not in shares_seen["researcher_a"]
    # officer_b sees shares only where officer_b's person is a contributor
    assert records["result_partners_a"] in shares_seen["officer_b"]
    assert records["result_public_linked"] in shares_seen["officer_b"]
    assert records["result_public_a"] not in shares_seen["officer_b"]
    assert records["result_internal_b"] in shares_seen["officer_b"]
    assert records["result_no_owner"] in shares_seen["platform_admin"]


def _total(api: TestClient, headers: dict[str, str], **params: Any) -> int:
    response = api.get("/api/v1/results", params={"limit": 1, **params}, headers=headers)
    assert response.status_code == 200
    return int(response.json()["total"])


def test_totals_change_right_after_each_commit_and_stay_with_their_caller(
    app: Any, database: Any, world: World, api: TestClient
) -> None:
    anonymous, officer = {}, api_headers(world, "officer_a")
    admin = api_headers(world, "platform_admin")
    public, internal = _total(api, anonymous), _total(api, officer)
    assert internal > public  # officer_a also sees tenant A's internal records
    for _ in range(3):  # asked in turns, each caller keeps its own count
        assert (_total(api, anonymous), _total(api, officer)) == (public, internal)

    created = api.post(
        "/api/v1/results",
        json={
            "kind": "paper",
            "title": "新增成果",
            "owner": world.org_ext["a"],
            "confidentiality": "internal",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert (_total(api, anonymous), _total(api, officer)) == (public, internal + 1)

    public_id = api.post(
        "/api/v1/results", json={"kind": "paper", "title": "公开成果"}, headers=admin
    ).json()["id"]
    assert (_total(api, anonymous), _total(api, officer)) == (public + 1, internal + 2)
    assert _total(api, anonymous, kind="paper") == 1

    assert api.delete(f"/api/v1/results/{public_id}", headers=admin).status_code == 204
    assert (_total(api, anonymous), _total(api, officer)) == (public, internal + 1)
    assert _total(api, anonymous, kind="paper") == 0
    assert api.get("/api/v1/results", params={"offset": public}).json()["items"] == []


@pytest.mark.skipif(
    "postgresql" in (__import__("os").environ.get("SHELFBRIDGE_TEST_DATABASE_URL") or ""),
    reason="a second connection of another kind is a SQLite matter",
)
def test_a_commit_by_another_connection_is_seen_at_once(
    database: Any, api: TestClient, db_url: str
) -> None:
    before = _total(api, {})
    path = make_url(db_url).database
    assert path
    with sqlite3.connect(path) as other:  # e.g. another process, or the command line
        now = datetime.now(UTC).isoformat()
        other.execute(
            "INSERT INTO results (external_id, kind, title, keywords, ipc_codes,"
            " confidentiality, status, created_at, updated_at)"
            " VALUES ('RAW-1', 'paper', 'raw', '[]', '[]', 'public', 'available', ?, ?)",
            (now, now),
        )
    assert _total(api, {}) == before + 1
    with sqlite3.connect(path) as other:
        other.execute("UPDATE results SET confidentiality = 'internal' WHERE external_id = 'RAW-1'")
    assert _total(api, {}) == before


def test_a_total_is_counted_once_per_state_of_the_database(
    database: Any, api: TestClient, monkeypatch: Any
) -> None:
    """The memory is used (so the tests above test it): no count while nothing changed."""
    counted: list[str] = []
    real = repository.count_filtered

    def counting(session: Any, model: Any, filters: dict[str, Any]) -> int:
        counted.append(model.__tablename__)
        return real(session, model, filters)

    monkeypatch.setattr(repository, "count_filtered", counting)
    for offset in (0, 1, 0):
        assert api.get("/api/v1/results", params={"offset": offset}).status_code == 200
    assert counted == ["results"]
    security.begin()  # security events are written, but they change no data
    security.note("denied", "test", target_kind="results", target_id=1)
    assert security.flush(database) == 1
    assert api.get("/api/v1/results").status_code == 200
    assert counted == ["results"]
    with database.unit_of_work() as session:
        factories.result(session)
    assert _total(api, {}) == 1
    assert counted == ["results", "results"]


# ---- pages: positions remembered from earlier requests give exactly the plain walk's pages


def _seed_many(database: Any, university: int, rows: int = 400) -> None:
    now = datetime.now(UTC)
    with database.writer.begin() as connection:
        connection.execute(
            insert(Result),
            [
                {
                    "external_id": f"MANY-{n:04d}",
                    "kind": ("paper", "utility_model")[n % 2],
                    "title": f"成果{n}",
                    "keywords": [],
                    "ipc_codes": [],
                    "trl": 1 + n % 9,
                    "owner_org_id": university if n % 3 == 0 else None,
                    # one value the field rules would refuse: the counting parts miss no row
                    "confidentiality": "archived"
                    if n == 77
                    else ("internal" if n % 6 == 0 else "public"),
                    "status": "available",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(rows)
            ],
        )


def _plain(database: Any, actor: Actor, filters: dict[str, Any]) -> list[int]:
    token = current_actor.set(actor)
    try:
        with database.unit_of_work(write=False) as session:
            statement = repository.filtered(Result, filters).with_only_columns(Result.id)
            return list(session.scalars(statement.order_by(Result.id.desc())))
    finally:
        current_actor.reset(token)


def _page(
    database: Any, actor: Actor, filters: dict[str, Any], limit: int, offset: int
) -> tuple[list[int], int]:
    token = current_actor.set(actor)
    try:
        with database.unit_of_work(write=False) as session:
            return repository.page_ids(session, Result, filters, limit, offset)
    finally:
        current_actor.reset(token)


def _check_pages(database: Any, actors: list[Actor], rng: random.Random) -> None:
    for actor in actors:
        for filters in ({}, {"kind": "paper", "trl_min": 3}):
            expected = _plain(database, actor, filters)
            for _ in range(60):
                limit = rng.choice((1, 7, 20))
                offset = rng.randrange(len(expected) + 30)
                ids, total = _page(database, actor, filters, limit, offset)
                assert total == len(expected)
                assert ids == expected[offset : offset + limit], (actor.kind, filters, offset)


@pytest.mark.parametrize("long_walk", [repository.LONG_WALK, 0], ids=["walks", "jumps"])
def test_deep_pages_are_exact_before_and_after_commits(
    database: Any, monkeypatch: Any, long_walk: int
) -> None:
    """Pages walked from the top, from the bottom, from anchors that earlier pages left and
    from anchors placed at evenly spaced ids all equal the plain walk from the top, before and
    after commits."""
    monkeypatch.setattr(repository, "LONG_WALK", long_walk)
    with database.unit_of_work() as session:
        university = factories.organization(session).id
    _seed_many(database, university)
    member = user_actor(99, "member", False, None, [(university, "researcher")])
    admin = user_actor(98, "admin", True, None, [])
    actors = [ANONYMOUS, member, admin]
    rng = random.Random(20)
    _check_pages(database, actors, rng)
    # Rows leave, arrive and change in the middle of the list: nothing remembered before
    # counts any more.
    with database.writer.begin() as connection:
        connection.execute(delete(Result).where(Result.external_id.in_(["MANY-0100", "MANY-0201"])))
        connection.execute(
            update(Result)
            .where(Result.external_id == "MANY-0150")
            .values(confidentiality="internal", owner_org_id=university)
        )
    _seed_many_more = [{"external_id": "LATE-1"}, {"external_id": "LATE-2"}]
    now = datetime.now(UTC)
    with database.writer.begin() as connection:
        connection.execute(
            insert(Result),
            [
                {
                    **late,
                    "kind": "paper",
                    "title": "late",
                    "keywords": [],
                    "ipc_codes": [],
                    "trl": 5,
                    "confidentiality": "public",
                    "status": "available",
                    "created_at": now,
                    "updated_at": now,
                }
                for late in _seed_many_more
            ],
        )
    _check_pages(database, actors, rng)


def test_a_unit_of_work_that_wrote_rows_leaves_no_count_behind(database: Any) -> None:
    with database.unit_of_work() as session:
        university = factories.organization(session).id
    _seed_many(database, university, rows=30)
    before = _page(database, SYSTEM, {}, 5, 0)[1]
    token = current_actor.set(SYSTEM)
    try:
        with pytest.raises(RuntimeError), database.unit_of_work() as session:
            factories.result(session)
            assert repository.page_ids(session, Result, {}, 5, 0)[1] == before + 1
            raise RuntimeError("roll back")
    finally:
        current_actor.reset(token)
    assert _page(database, SYSTEM, {}, 5, 0)[1] == before

"""The matcher never shows a record the caller may not see: a canary planted in tenant A's
``internal`` and ``partners`` results (and E1's internal demand) never appears in the hits,
counts or explanations seen by B, E1, E2 or an anonymous visitor — through the service, the
API and the CLI, on SQLite and on PostgreSQL (SHELFBRIDGE_TEST_DATABASE_URL)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from shelfbridge.accounts import security
from shelfbridge.accounts.actor import ANONYMOUS, current_actor
from shelfbridge.accounts.models import SecurityEvent, SharingGrant
from shelfbridge.core.errors import NotFound
from shelfbridge.core.models import utcnow
from shelfbridge.matching import service
from shelfbridge.matching.types import Target
from shelfbridge.registry.models import Result
from tests import auth
from tests.matching.engine_support import (
    CANARY,
    CANARY_EN,
    Tenants,
    build_tenants,
    engine,  # noqa: F401 - fixture
    grant,
)

OUTSIDERS = ("anonymous", "officer-b", "enterprise-e1", "enterprise-e2")


@pytest.fixture
def world(database: Any, engine: Any) -> Tenants:  # noqa: F811
    built = build_tenants(database)
    engine.rebuild()
    return built


def _actor(database: Any, username: str) -> Any:
    if username == "anonymous":
        return ANONYMOUS
    from shelfbridge.cli.match_commands import _actor as resolve

    return resolve(database, username)


def _match(database: Any, username: str, target: Target, text: str = CANARY) -> list[Any]:
    token = current_actor.set(_actor(database, username))
    try:
        with database.unit_of_work(write=False) as session:
            return service.match_text(session, text, target, limit=20)
    finally:
        current_actor.reset(token)


def _leaks(hits: list[Any]) -> list[str]:
    text = json.dumps(
        [[h.title, h.external_id, repr(h.explanation)] for h in hits], ensure_ascii=False
    )
    return [c for c in (CANARY, CANARY_EN.lower(), CANARY_EN) if c in text]


@pytest.mark.parametrize("username", OUTSIDERS)
@pytest.mark.parametrize("target", list(Target))
def test_outsiders_never_see_the_canary(
    database: Any, world: Tenants, username: str, target: Target
) -> None:
    for text in (CANARY, CANARY_EN, f"{CANARY} 锂电池电解液 隔膜"):
        hits = _match(database, username, target, text)
        hidden = {world.records["result_internal"], world.records["result_partners"]}
        if target == Target.RESULTS:
            assert hidden.isdisjoint({h.record_id for h in hits})
        if target == Target.DEMANDS and username != "enterprise-e1":
            assert world.records["demand_internal"] not in {h.record_id for h in hits}
        if target == Target.DEMANDS and username == "enterprise-e1":
            continue  # E1 owns the internal demand, which carries the canary too
        assert _leaks(hits) == []


def test_the_owner_sees_its_internal_and_partners_results(database: Any, world: Tenants) -> None:
    ids = {h.record_id for h in _match(database, "officer-a", Target.RESULTS)}
    assert {world.records["result_internal"], world.records["result_partners"]} <= ids
    admin = {h.record_id for h in _match(database, "platform-admin", Target.RESULTS)}
    assert {world.records["result_internal"], world.records["result_partners"]} <= admin


def test_a_live_grant_shows_a_partners_result_and_a_withdrawn_one_hides_it(
    database: Any, world: Tenants
) -> None:
    grant(database, world, "result_partners", "b")
    seen = {h.record_id for h in _match(database, "officer-b", Target.RESULTS)}
    assert world.records["result_partners"] in seen
    assert world.records["result_internal"] not in seen
    with database.unit_of_work() as session:
        session.execute(update(SharingGrant).values(withdrawn_at=utcnow()))
    seen = {h.record_id for h in _match(database, "officer-b", Target.RESULTS)}
    assert world.records["result_partners"] not in seen


def test_a_stale_index_cannot_leak(database: Any, owner_database: Any, world: Tenants) -> None:
    # The record turns internal behind the index's back (a write the sync never saw).
    public = world.records["result_public"]
    with owner_database.writer.begin() as connection:
        connection.execute(
            update(Result.__table__).where(Result.id == public).values(confidentiality="internal")
        )
    hits = _match(database, "officer-b", Target.RESULTS, "锂电池正极材料")
    assert public not in {h.record_id for h in hits}


def test_matching_from_a_record_the_caller_may_not_see_is_not_found(
    database: Any, world: Tenants
) -> None:
    token = current_actor.set(_actor(database, "officer-b"))
    try:
        with database.unit_of_work(write=False) as session:
            with pytest.raises(NotFound):
                service.match_result(session, world.records["result_internal"], Target.DEMANDS)
            with pytest.raises(NotFound):
                service.match_demand(session, world.records["demand_internal"], Target.RESULTS)
    finally:
        current_actor.reset(token)


def test_the_api_answers_hidden_records_like_missing_ones_and_never_leaks(
    app: Any, database: Any, world: Tenants
) -> None:
    client = TestClient(app)  # the world's engine was attached after the app's: it is used
    headers = {
        name: auth.bearer(auth.api_token(client, name, auth.PASSWORD)) for name in OUTSIDERS[1:]
    }
    headers["anonymous"] = {}
    hidden = world.records["result_internal"]
    for name in OUTSIDERS:
        for target in Target:
            response = client.get(
                "/api/v1/match", params={"q": CANARY, "target": target.value}, headers=headers[name]
            )
            assert response.status_code == 200, response.text
            if not (target == Target.DEMANDS and name == "enterprise-e1"):
                assert CANARY not in response.text and CANARY_EN not in response.text
        for path in (f"/api/v1/results/{hidden}/matches", "/api/v1/results/987654321/matches"):
            response = client.get(path, headers=headers[name])
            assert response.status_code == 404
        missing = client.get("/api/v1/results/987654321/matches", headers=headers[name])
        hidden_answer = client.get(f"/api/v1/results/{hidden}/matches", headers=headers[name])
        assert hidden_answer.json() == missing.json()


def test_reading_a_non_public_hit_is_a_security_event(
    app: Any, database: Any, world: Tenants
) -> None:
    client = TestClient(app)
    token = auth.api_token(client, "officer-a", auth.PASSWORD)
    response = client.get("/api/v1/match", params={"q": CANARY}, headers=auth.bearer(token))
    assert response.status_code == 200
    assert world.external["result_internal"] in response.text
    security.drain(database)  # reads wait in a buffer (accounts/security.py)
    with database.unit_of_work(write=False) as session:
        events = session.execute(
            select(SecurityEvent.actor, SecurityEvent.target_id).where(
                SecurityEvent.action == "read", SecurityEvent.target_kind == "results"
            )
        ).all()
    assert ("user:officer-a", world.records["result_internal"]) in events

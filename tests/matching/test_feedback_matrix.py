"""The feedback routes × every actor of the authorization matrix, with real bodies and real
feedback ids (the generic matrix in tests/accounts posts no body and cannot fill a feedback
id): giving needs an acting role, deleting is for the author and platform admins, and a row
the caller may not read answers 404."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import auth
from tests.accounts.matrix_support import (
    ACTORS,
    World,
    api_headers,
    build_world,
    sign_everyone_in,
)

GIVE = dict(
    zip(
        ACTORS,
        (401, 403, 403, 201, 201, 201, 201, 201, 403, 403, 403),
        strict=True,
    )
)
DELETE = dict(
    zip(
        ACTORS,
        (401, 404, 404, 403, 403, 404, 204, 404, 404, 404, 204),
        strict=True,
    )
)
PAGE = {201: 303, 204: 303}  # the forms answer with a redirect where the API creates


@pytest.fixture
def world(app: Any, database: Any) -> World:
    built = build_world(database)
    sign_everyone_in(app, built)
    return built


def _body(world: World) -> dict[str, Any]:
    return {
        "source_kind": "demands",
        "source_id": world.records["demand_public_e1"],
        "matched_kind": "results",
        "matched_id": world.records["result_public_a"],
        "verdict": "interest",
        "comment": "矩阵",
    }


def _feedback_of_e1(api: TestClient, world: World) -> int:
    response = api.post(
        "/api/v1/matches/feedback",
        json={**_body(world), "verdict": "too_expensive"},
        headers=api_headers(world, "enterprise_e1"),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_feedback_routes_answer_every_actor_as_documented(app: Any, world: World) -> None:
    api = TestClient(app)
    mismatches = []
    for actor in ACTORS:
        got = api.post(
            "/api/v1/matches/feedback", json=_body(world), headers=api_headers(world, actor)
        ).status_code
        if got != GIVE[actor]:
            mismatches.append(f"API give as {actor}: {got}, expected {GIVE[actor]}")

        ident = _feedback_of_e1(api, world)
        got = api.delete(
            f"/api/v1/matches/feedback/{ident}", headers=api_headers(world, actor)
        ).status_code
        if got != DELETE[actor]:
            mismatches.append(f"API delete as {actor}: {got}, expected {DELETE[actor]}")

        page = world.pages[actor]
        form = {k: str(v) for k, v in _body(world).items()}
        form["csrf_token"] = auth.csrf_token(page, "/")
        got = page.post("/match/feedback", data=form, follow_redirects=False).status_code
        expected = PAGE.get(GIVE[actor], GIVE[actor])
        if got != expected:
            mismatches.append(f"page give as {actor}: {got}, expected {expected}")

        ident = _feedback_of_e1(api, world)
        got = page.post(
            f"/match/feedback/{ident}/delete",
            data={"csrf_token": auth.csrf_token(page, "/")},
            follow_redirects=False,
        ).status_code
        expected = PAGE.get(DELETE[actor], DELETE[actor])
        if got != expected:
            mismatches.append(f"page delete as {actor}: {got}, expected {expected}")
    assert not mismatches, "\n".join(mismatches)

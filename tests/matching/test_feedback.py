"""Feedback on matches: given by those who act for an organisation, seen by the giving
organisation, by the matched record's owner and by platform admins, and by nobody else; on
PostgreSQL the database refuses the same rows on its own (row-level security)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shelfbridge.accounts.actor import Actor, current_actor, user_actor
from shelfbridge.core.audit import AuditEvent
from shelfbridge.matching.models import MatchFeedback
from tests import auth
from tests.matching.feedback_support import USERS, Cast, build_cast

postgres_only = pytest.mark.skipif(
    not os.environ.get("SHELFBRIDGE_TEST_DATABASE_URL"),
    reason="row-level security exists only on PostgreSQL",
)
COMMENT = "样品在零下三十度失效 canary-7d41c"


@pytest.fixture
def cast(database: Any) -> Cast:
    return build_cast(database)


@pytest.fixture
def tokens(client: TestClient, cast: Cast) -> dict[str, dict[str, str]]:
    return {name: auth.bearer(auth.api_token(client, name)) for name in USERS}


def _give(client: TestClient, headers: dict[str, str], cast: Cast, **changes: Any) -> Any:
    body = {
        "source_kind": "demands",
        "source_id": cast.ids["demand_e1"],
        "matched_kind": "results",
        "matched_id": cast.ids["result_a"],
        "verdict": "too_early_stage",
        "comment": COMMENT,
        **changes,
    }
    return client.post("/api/v1/matches/feedback", json=body, headers=headers)


def _seen(client: TestClient, headers: dict[str, str], path: str) -> list[dict[str, Any]]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_feedback_is_seen_by_the_giver_the_matched_owner_and_admins_only(
    client: TestClient, cast: Cast, tokens: dict[str, dict[str, str]]
) -> None:
    given = _give(client, tokens["user-e1"], cast)
    assert given.status_code == 201, given.text
    body = given.json()
    assert body["verdict"] == "too_early_stage" and body["comment"] == COMMENT
    assert body["organization_id"] == cast.orgs["e1"]
    path = f"/api/v1/results/{cast.ids['result_a']}/feedback"
    for who in ("user-e1", "officer-a", "admin-a", "root"):
        rows = _seen(client, tokens[who], path)
        assert [r["comment"] for r in rows] == [COMMENT], who
        assert rows[0]["source_title"] == "寻求动力电池低温性能提升技术"
    # The result is public: these callers see it, and not the feedback on it.
    for who in ("user-e2", "officer-b", "researcher-a", "loner"):
        response = client.get(path, headers=tokens[who])
        assert response.status_code == 200, who
        assert response.json() == [], who
        assert "canary-7d41c" not in response.text, who
    # The demand it was given from: E1 sees what it gave, E2 and B nothing.
    given_path = f"/api/v1/demands/{cast.ids['demand_e1']}/feedback?direction=given"
    assert len(_seen(client, tokens["user-e1"], given_path)) == 1
    for who in ("user-e2", "officer-b"):
        assert _seen(client, tokens[who], given_path) == [], who


def test_feedback_on_a_record_the_caller_cannot_see_answers_404(
    client: TestClient, cast: Cast, tokens: dict[str, dict[str, str]]
) -> None:
    hidden = f"/api/v1/results/{cast.ids['result_a_internal']}/feedback"
    assert client.get(hidden, headers=tokens["user-e1"]).status_code == 404
    assert client.get(hidden, headers=tokens["officer-a"]).status_code == 200
    missing = client.get("/api/v1/results/999999/feedback", headers=tokens["user-e1"])
    assert missing.status_code == 404
    assert client.get(hidden, headers=tokens["user-e1"]).json() == missing.json()
    assert client.get(hidden).status_code == 401


def test_giving_needs_an_acting_role_and_both_records_visible(
    client: TestClient, cast: Cast, tokens: dict[str, dict[str, str]]
) -> None:
    assert _give(client, {}, cast).status_code == 401
    for who in ("researcher-a", "loner"):
        refused = _give(client, tokens[who], cast)
        assert refused.status_code == 403, who
        assert refused.json()["detail"].startswith("只有机构管理员、技术转移专员和企业用户")
    # E2 may not see E1's internal demand, nor E1 A's internal result: 404, as if absent.
    hidden_source = _give(client, tokens["user-e2"], cast, source_id=cast.ids["demand_e1_internal"])
    assert hidden_source.status_code == 404
    hidden_match = _give(client, tokens["user-e1"], cast, matched_id=cast.ids["result_a_internal"])
    assert hidden_match.status_code == 404
    # Acting for an organisation one does not belong to is refused (no mass assignment).
    foreign = _give(client, tokens["user-e1"], cast, organization_id=cast.orgs["a"])
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["field"] == "organization_id"
    with client.app.state.database.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(MatchFeedback)) == 0


def test_an_unknown_reason_code_is_refused_with_a_message_in_the_callers_language(
    client: TestClient, cast: Cast, tokens: dict[str, dict[str, str]]
) -> None:
    body = {
        "source_kind": "demands",
        "source_id": cast.ids["demand_e1"],
        "matched_kind": "results",
        "matched_id": cast.ids["result_a"],
        "verdict": "too_cheap",
    }
    english = client.post("/api/v1/matches/feedback?lang=en", json=body, headers=tokens["user-e1"])
    assert english.status_code == 422
    problem = english.json()["errors"][0]
    assert problem["field"] == "verdict"
    assert problem["message"] == (
        "“too_cheap” is not a known verdict: use interest or one of the reasons "
        "too_early_stage, benefit_unclear, commercial_route_unclear, outside_field, "
        "too_expensive, other."
    )
    chinese = client.post("/api/v1/matches/feedback?lang=zh", json=body, headers=tokens["user-e1"])
    assert chinese.status_code == 422
    message = chinese.json()["errors"][0]["message"]
    assert message.startswith("“too_cheap”不是已知的反馈") and "too_early_stage" in message


def test_a_long_comment_and_missing_fields_are_each_named(
    client: TestClient, cast: Cast, tokens: dict[str, dict[str, str]]
) -> None:
    response = client.post(
        "/api/v1/matches/feedback?lang=en",
        json={
            "source_kind": "query",
            "matched_kind": "robots",
            "matched_id": 1,
            "verdict": "other",
            "comment": "长" * 1001,
        },
        headers=tokens["user-e1"],
    )
    assert response.status_code == 422
    fields = {p["field"]: p["message"] for p in response.json()["errors"]}
    assert set(fields) == {"query", "matched_kind", "comment"}
    assert fields["comment"] == "The comment is 1001 characters long; at most 1000 are allowed."


def test_giving_again_changes_the_verdict_and_every_change_is_audited(
    client: TestClient, cast: Cast, tokens: dict[str, dict[str, str]]
) -> None:
    first = _give(client, tokens["user-e1"], cast).json()
    second = _give(client, tokens["user-e1"], cast, verdict="interest", comment=None).json()
    assert second["id"] == first["id"]
    assert second["verdict"] == "interest" and second["comment"] is None
    with client.app.state.database.unit_of_work() as session:
        actions = list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.entity_kind == "match_feedback")
                .order_by(AuditEvent.seq)
            )
        )
        events = list(
            session.scalars(select(AuditEvent).where(AuditEvent.entity_kind == "match_feedback"))
        )
    assert actions == ["create", "update"]
    assert all(event.actor == "user:user-e1" for event in events)


def test_only_the_author_or_a_platform_admin_deletes_feedback(
    client: TestClient, cast: Cast, tokens: dict[str, dict[str, str]]
) -> None:
    ident = _give(client, tokens["user-e1"], cast).json()["id"]
    path = f"/api/v1/matches/feedback/{ident}"
    assert client.delete(path, headers=tokens["user-e2"]).status_code == 404
    assert client.delete(path, headers=tokens["officer-b"]).status_code == 404
    assert client.delete(path, headers=tokens["officer-a"]).status_code == 403
    assert client.delete(path).status_code == 401
    assert client.delete(path, headers=tokens["user-e1"]).status_code == 204
    assert client.delete(path, headers=tokens["user-e1"]).status_code == 404
    again = _give(client, tokens["user-e1"], cast).json()["id"]
    assert (
        client.delete(f"/api/v1/matches/feedback/{again}", headers=tokens["root"]).status_code
        == 204
    )


def test_the_text_of_a_search_stays_with_the_organisation_that_searched(
    client: TestClient, cast: Cast, tokens: dict[str, dict[str, str]]
) -> None:
    given = _give(
        client,
        tokens["user-e1"],
        cast,
        source_kind="query",
        source_id=None,
        query="我们的秘密新产品需要低温电池",
        verdict="interest",
    )
    assert given.status_code == 201, given.text
    path = f"/api/v1/results/{cast.ids['result_a']}/feedback"
    [mine] = _seen(client, tokens["user-e1"], path)
    [theirs] = _seen(client, tokens["officer-a"], path)
    assert mine["query"] == "我们的秘密新产品需要低温电池"
    assert theirs["query"] is None and theirs["verdict"] == "interest"


def test_feedback_on_people_and_organisations_reaches_their_organisation(
    client: TestClient, cast: Cast, tokens: dict[str, dict[str, str]]
) -> None:
    for kind, ident in (("people", cast.ids["person_a"]), ("organizations", cast.orgs["a"])):
        response = _give(client, tokens["user-e1"], cast, matched_kind=kind, matched_id=ident)
        assert response.status_code == 201, response.text
    with client.app.state.database.unit_of_work() as session:
        owners = set(session.scalars(select(MatchFeedback.matched_owner_org_id)))
    assert owners == {cast.orgs["a"]}


def _actor(cast: Cast, username: str, user_id: int = 0) -> Actor:
    membership = USERS[username]
    memberships = [(cast.orgs[membership[0]], membership[1])] if membership else []
    return user_actor(user_id or len(username), username, False, None, memberships)


@postgres_only
def test_row_level_security_alone_keeps_feedback_inside_its_tenants(
    client: TestClient, cast: Cast, tokens: dict[str, dict[str, str]], database: Any
) -> None:
    assert _give(client, tokens["user-e1"], cast).status_code == 201

    def rows_seen_by(username: str) -> int:
        token = current_actor.set(_actor(cast, username))
        try:
            # No application filter at all: only the database's policies.
            with database.unit_of_work(write=False) as session:
                return int(session.scalar(select(func.count()).select_from(MatchFeedback)) or 0)
        finally:
            current_actor.reset(token)

    assert rows_seen_by("user-e1") == 1
    assert rows_seen_by("officer-a") == 1
    assert rows_seen_by("user-e2") == 0
    assert rows_seen_by("officer-b") == 0
    assert rows_seen_by("researcher-a") == 0  # A's member, but not one who changes A's records


@postgres_only
def test_row_level_security_refuses_feedback_for_another_organisation(
    cast: Cast, database: Any
) -> None:
    from sqlalchemy import insert
    from sqlalchemy.exc import DBAPIError

    from shelfbridge.core.models import utcnow

    token = current_actor.set(_actor(cast, "user-e2"))
    try:
        with (
            pytest.raises(DBAPIError, match="row-level security"),
            database.unit_of_work() as session,
        ):
            session.execute(
                insert(MatchFeedback).values(
                    source_kind="query",
                    query_text="x",
                    matched_kind="results",
                    matched_id=cast.ids["result_a"],
                    organization_id=cast.orgs["e1"],
                    verdict="interest",
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
    finally:
        current_actor.reset(token)


def test_feedback_export_writes_every_row_with_external_ids(
    client: TestClient, cast: Cast, tokens: dict[str, dict[str, str]], run_cli: Any, tmp_path: Path
) -> None:
    assert _give(client, tokens["user-e1"], cast).status_code == 201
    target = tmp_path / "feedback.csv"
    result = run_cli("feedback", "export", str(target))
    assert result.exit_code == 0, result.output
    assert "1" in result.output
    with target.open(encoding="utf-8", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["organization"] == cast.org_ext["e1"]
    assert row["user"] == "user-e1"
    assert row["source_kind"] == "demands" and row["source"].startswith("DEM-T")
    assert row["matched_kind"] == "results" and row["matched"].startswith("RES-T")
    assert row["matched_owner"] == cast.org_ext["a"]
    assert row["verdict"] == "too_early_stage" and row["comment"] == COMMENT
    refused = run_cli("feedback", "export", str(tmp_path / "feedback.txt"))
    assert refused.exit_code == 2

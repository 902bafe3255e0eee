"""Personal API tokens: create with a password, list, revoke; bearer authentication."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from shelfbridge.accounts.config import AccountPolicy
from shelfbridge.accounts.models import ApiToken, SecurityEvent
from tests import auth
from tests.accounts.conftest import Cast, FakeClock


def _create(client: Any, username: str, password: str = auth.PASSWORD, **extra: Any) -> Any:
    return client.post(
        "/api/v1/auth/token", json={"username": username, "password": password, **extra}
    )


def test_a_token_is_shown_once_and_stored_as_its_sha256(
    client: Any, database: Any, cast: Cast
) -> None:
    response = _create(client, "officer-a", name="nightly sync")
    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"sb_[A-Za-z0-9_-]{40}", body["token"])
    assert body["prefix"] == body["token"][:10] and body["expires_at"] is None
    with database.unit_of_work(write=False) as session:
        row = session.get(ApiToken, body["id"])
        assert row is not None and row.name == "nightly sync"
        assert row.token_hash == hashlib.sha256(body["token"].encode()).hexdigest()


def test_bearer_tokens_sign_api_requests_in(client: Any, cast: Cast) -> None:
    token = auth.api_token(client, "officer-a")
    me = client.get("/api/v1/auth/me", headers=auth.bearer(token))
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == "officer-a"
    assert body["memberships"] == [
        {
            "organization_id": cast.university,
            "organization": cast.university_ext,
            "organization_name": "示例大学",
            "role": "tto_officer",
        }
    ]


def test_the_list_shows_the_callers_tokens_without_their_secrets(client: Any, cast: Cast) -> None:
    first = auth.api_token(client, "officer-a")
    second = auth.api_token(client, "officer-a")
    auth.api_token(client, "admin-a")  # someone else's
    listed = client.get("/api/v1/auth/tokens", headers=auth.bearer(first))
    assert listed.status_code == 200
    assert len(listed.json()) == 2
    assert first not in listed.text and second not in listed.text
    assert {t["prefix"] for t in listed.json()} == {first[:10], second[:10]}


def test_a_revoked_token_is_refused_on_the_next_request(
    client: Any, database: Any, cast: Cast
) -> None:
    token = auth.api_token(client, "officer-a")
    spare = auth.api_token(client, "officer-a")
    [mine] = [
        t["id"]
        for t in client.get("/api/v1/auth/tokens", headers=auth.bearer(spare)).json()
        if t["prefix"] == token[:10]
    ]
    assert (
        client.delete(f"/api/v1/auth/tokens/{mine}", headers=auth.bearer(spare)).status_code == 204
    )
    refused = client.get("/api/v1/auth/me", headers=auth.bearer(token))
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.json()["type"].endswith("/invalid-token")
    with database.unit_of_work(write=False) as session:
        reasons = list(session.scalars(select(SecurityEvent.reason)))
    assert "bearer token refused: token revoked" in reasons
    # revoking it again, or someone else's token, is "not found"
    assert (
        client.delete(f"/api/v1/auth/tokens/{mine}", headers=auth.bearer(spare)).status_code == 404
    )
    other = auth.api_token(client, "admin-a")
    theirs = client.get("/api/v1/auth/tokens", headers=auth.bearer(other)).json()[0]["id"]
    assert (
        client.delete(f"/api/v1/auth/tokens/{theirs}", headers=auth.bearer(spare)).status_code
        == 404
    )
    assert client.get("/api/v1/auth/me", headers=auth.bearer(other)).status_code == 200


def test_unknown_or_malformed_tokens_are_refused(client: Any, cast: Cast) -> None:
    for token in ("sb_" + "A" * 40, "not-a-token", ""):
        response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


def test_the_token_list_needs_a_token(client: Any, cast: Cast) -> None:
    response = client.get("/api/v1/auth/tokens")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_the_session_cookie_does_not_open_the_api(client: Any, cast: Cast) -> None:
    auth.sign_in(client, "officer-a")
    assert client.get("/api/v1/auth/me").status_code == 401


def test_bad_credentials_answer_401_in_problem_json_alike(client: Any, cast: Cast) -> None:
    wrong = _create(client, "officer-a", "not-the-password-1")
    unknown = _create(client, "nobody-at-all", "not-the-password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json() == unknown.json()
    assert wrong.json()["type"].endswith("/login-failed")


def test_token_requests_share_the_login_lockout(client: Any, cast: Cast, clock: FakeClock) -> None:
    for _ in range(4):
        assert _create(client, "officer-a", "not-the-password-1").status_code == 401
    locked = _create(client, "officer-a", "not-the-password-1")
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "900"
    assert locked.json()["status"] == 429 and "09:15" in locked.json()["detail"]
    # the login page is locked as well
    page = client.post(
        "/login",
        data=auth.with_csrf(client, {"username": "officer-a", "password": auth.PASSWORD}),
    )
    assert page.status_code == 429
    clock.advance(minutes=15)
    assert _create(client, "officer-a").status_code == 201


def test_tokens_expire_after_the_configured_lifetime(
    app: Any, client: Any, cast: Cast, clock: FakeClock
) -> None:
    app.state.accounts.policy = AccountPolicy(token_lifetime=timedelta(days=30))
    body = _create(client, "officer-a").json()
    assert body["expires_at"].startswith("2026-04-01T09:00")
    clock.advance(days=29)
    assert client.get("/api/v1/auth/me", headers=auth.bearer(body["token"])).status_code == 200
    clock.advance(days=1)
    assert client.get("/api/v1/auth/me", headers=auth.bearer(body["token"])).status_code == 401


def test_unknown_fields_are_refused(client: Any, cast: Cast) -> None:
    response = _create(client, "officer-a", is_platform_admin=True)
    assert response.status_code == 422

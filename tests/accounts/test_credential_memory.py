"""Credentials and lists kept in memory between requests (accounts.authn, registry.repository)
never outlive a change: revoking a token, disabling its user or ending a membership applies
to the very next request even when the token was being answered from memory, and what one
caller was shown is never shown to another."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from shelfbridge.accounts import authn, tokens
from shelfbridge.accounts.actor import Actor
from shelfbridge.accounts.models import ApiToken, Membership, User
from shelfbridge.core.models import utcnow
from tests import auth, factories
from tests.accounts.conftest import Cast


def _kept_actor(app: Any, token: str) -> Actor | None:
    """The actor the middleware would take from memory for this token (None: it would read
    the database). Only SQLite files keep credentials; PostgreSQL reads them every time."""
    outcome = authn.known_token(app.state.database, token, app.state.accounts)
    return outcome.actor if isinstance(outcome, authn.Authenticated) else None


def _warm(client: Any, app: Any, token: str) -> None:
    """Use the token until the middleware answers it from memory (the first use writes
    last_used_at, a commit that the next lookup sees)."""
    for _ in range(3):
        assert client.get("/api/v1/auth/me", headers=auth.bearer(token)).status_code == 200
    if app.state.database.dialect == "sqlite":
        assert _kept_actor(app, token) is not None


def _listed(client: Any, token: str | None) -> set[int]:
    headers = auth.bearer(token) if token else {}
    response = client.get("/api/v1/results?limit=200", headers=headers)
    assert response.status_code == 200
    return {item["id"] for item in response.json()["items"]}


@pytest.fixture
def internal_result(database: Any, cast: Cast) -> int:
    with database.unit_of_work() as session:
        factories.result(session, owner=cast.university_ext, title="公开成果")
        record = factories.result(
            session, owner=cast.university_ext, confidentiality="internal", title="内部成果"
        )
        return int(record.id)


def test_a_token_answered_from_memory_is_refused_right_after_its_revocation(
    client: Any, app: Any, database: Any, cast: Cast
) -> None:
    token = auth.api_token(client, "officer-a")
    _warm(client, app, token)
    with database.unit_of_work() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == tokens.digest(token))
            .values(revoked_at=utcnow())
        )
    assert client.get("/api/v1/auth/me", headers=auth.bearer(token)).status_code == 401


def test_a_token_answered_from_memory_is_refused_right_after_its_user_is_disabled(
    client: Any, app: Any, database: Any, cast: Cast
) -> None:
    token = auth.api_token(client, "officer-a")
    _warm(client, app, token)
    with database.unit_of_work() as session:
        session.execute(
            update(User).where(User.username == "officer-a").values(disabled_at=utcnow())
        )
    assert client.get("/api/v1/results", headers=auth.bearer(token)).status_code == 401


def test_an_ended_membership_hides_internal_records_from_the_next_list(
    client: Any, app: Any, database: Any, cast: Cast, internal_result: int
) -> None:
    token = auth.api_token(client, "officer-a")
    _warm(client, app, token)
    assert internal_result in _listed(client, token)
    assert internal_result in _listed(client, token)  # the list is remembered now
    with database.unit_of_work() as session:
        user_id = session.scalar(select(User.id).where(User.username == "officer-a"))
        session.execute(
            update(Membership).where(Membership.user_id == user_id).values(ended_at=utcnow())
        )
    assert internal_result not in _listed(client, token)
    if database.dialect == "sqlite":
        actor = _kept_actor(app, token)
        assert actor is not None and actor.roles == {}


def test_a_remembered_list_is_never_shown_to_another_caller(
    client: Any, app: Any, cast: Cast, internal_result: int
) -> None:
    officer = auth.api_token(client, "officer-a")
    enterprise_user = auth.api_token(client, "user-e")
    loner = auth.api_token(client, "loner")
    _warm(client, app, officer)
    _warm(client, app, enterprise_user)
    _warm(client, app, loner)
    for _ in range(2):  # the second round is answered from what the first remembered
        assert internal_result in _listed(client, officer)
        assert internal_result not in _listed(client, None)
        assert internal_result not in _listed(client, enterprise_user)
        assert internal_result not in _listed(client, loner)
        assert internal_result in _listed(client, officer)


def test_each_token_keeps_its_own_actor(client: Any, app: Any, cast: Cast) -> None:
    officer = auth.api_token(client, "officer-a")
    enterprise_user = auth.api_token(client, "user-e")
    _warm(client, app, officer)
    _warm(client, app, enterprise_user)
    me = client.get("/api/v1/auth/me", headers=auth.bearer(officer)).json()
    assert [m["organization_id"] for m in me["memberships"]] == [cast.university]
    me = client.get("/api/v1/auth/me", headers=auth.bearer(enterprise_user)).json()
    assert [m["organization_id"] for m in me["memberships"]] == [cast.enterprise]
    if app.state.database.dialect == "sqlite":
        first, second = _kept_actor(app, officer), _kept_actor(app, enterprise_user)
        assert first is not None and second is not None
        assert first.username == "officer-a" and first.orgs_with("record.write") == {
            cast.university
        }
        assert second.username == "user-e" and second.orgs_with("record.write") == {cast.enterprise}

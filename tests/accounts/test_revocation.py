"""Disabling a user, ending a membership, changing a role or revoking a credential takes
effect on the very next request, for sessions and tokens issued before the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shelfbridge.accounts import service
from shelfbridge.accounts.models import Membership, User
from shelfbridge.core.audit import AuditEvent
from shelfbridge.core.models import utcnow
from tests import auth
from tests.accounts.conftest import Cast


def _roles(client: Any, token: str) -> list[tuple[int, str]]:
    body = client.get("/api/v1/auth/me", headers=auth.bearer(token)).json()
    return [(m["organization_id"], m["role"]) for m in body["memberships"]]


def test_disabling_a_user_refuses_their_session_and_token_at_once(
    client: Any, database: Any, cast: Cast, run_cli: Any
) -> None:
    token = auth.api_token(client, "officer-a")
    auth.sign_in(client, "officer-a")
    assert client.get("/account").status_code == 200
    assert client.get("/api/v1/auth/me", headers=auth.bearer(token)).status_code == 200

    result = run_cli("user", "disable", "officer-a")
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended, 1 API token(s) revoked" in result.output

    assert client.get("/account", follow_redirects=False).status_code in (303, 401)
    assert client.get("/api/v1/auth/me", headers=auth.bearer(token)).status_code == 401


def test_a_disabled_users_credentials_are_refused_even_if_not_revoked(
    client: Any, database: Any, cast: Cast
) -> None:
    token = auth.api_token(client, "officer-a")
    auth.sign_in(client, "officer-a")
    with database.unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == "officer-a"))
        assert user is not None
        user.disabled_at = utcnow()  # only the flag: sessions and tokens left as they were
    assert client.get("/api/v1/auth/me", headers=auth.bearer(token)).status_code == 401
    assert client.get("/account", follow_redirects=False).status_code in (303, 401)


def test_ending_a_membership_removes_the_role_from_the_next_request(
    client: Any, cast: Cast, run_cli: Any
) -> None:
    token = auth.api_token(client, "officer-a")
    assert _roles(client, token) == [(cast.university, "tto_officer")]
    assert run_cli("user", "revoke", "officer-a", cast.university_ext).exit_code == 0
    assert _roles(client, token) == []


def test_a_role_change_shows_on_the_next_request(client: Any, database: Any, cast: Cast) -> None:
    token = auth.api_token(client, "officer-a")
    with database.unit_of_work() as session:
        membership = session.scalar(select(Membership).where(Membership.role == "tto_officer"))
        assert membership is not None
        service.change_role(session, membership, "researcher")
    assert _roles(client, token) == [(cast.university, "researcher")]


def test_a_session_sees_a_removed_membership_on_its_next_page(
    client: Any, database: Any, cast: Cast, run_cli: Any
) -> None:
    auth.sign_in(client, "admin-a")
    members = f"/organizations/{cast.university}/members"
    assert client.get(members).status_code == 200
    assert run_cli("user", "revoke", "admin-a", cast.university_ext).exit_code == 0
    assert client.get(members).status_code == 403


def test_audit_events_name_the_signed_in_user(client: Any, database: Any, cast: Cast) -> None:
    auth.sign_in(client, "root")
    form = auth.with_csrf(client, {"display_name": "平台管理员"})
    assert client.post("/account/profile", data=form, follow_redirects=False).status_code == 303
    token = auth.api_token(client, "root")
    created = client.post(
        "/api/v1/organizations",
        json={"name": "审计测试研究院", "kind": "research_institute"},
        headers=auth.bearer(token),
    )
    assert created.status_code == 201, created.text
    with database.unit_of_work(write=False) as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    by_kind = {(e.entity_kind, e.action): e.actor for e in events}
    assert by_kind[("user", "update")] == "user:root"
    assert by_kind[("organization", "create")] == "user:root"


def test_the_audit_log_never_holds_a_password_hash(client: Any, database: Any, cast: Cast) -> None:
    auth.sign_in(client, "officer-a")
    form = auth.with_csrf(
        client,
        {
            "current_password": auth.PASSWORD,
            "new_password": "a-brand-new-secret-77",
            "new_password_again": "a-brand-new-secret-77",
        },
    )
    assert client.post("/account/password", data=form, follow_redirects=False).status_code == 303
    with database.unit_of_work(write=False) as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.entity_kind == "user")))
    assert events
    for event in events:
        assert "$argon2" not in (event.before or "") + (event.after or "")
        assert "password_hash" not in (event.after or "")
    assert any(
        e.action == "update"
        and e.actor == "user:officer-a"
        and "password_changed_at" in (e.after or "")
        for e in events
    )

"""My account (name, password, tokens) and organisation members (add, change role, remove)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from shelfbridge.accounts.models import ApiToken, Membership, SecurityEvent, WebSession
from tests import auth
from tests.accounts.conftest import Cast


def _post(client: Any, path: str, data: dict[str, str] | None = None) -> Any:
    return client.post(path, data=auth.with_csrf(client, data or {}), follow_redirects=False)


def _members(database: Any, organization_id: int) -> dict[str, str]:
    from shelfbridge.accounts.models import User

    with database.unit_of_work(write=False) as session:
        rows = session.execute(
            select(User.username, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.organization_id == organization_id, Membership.ended_at.is_(None))
        )
        return {username: role for username, role in rows.tuples()}


# ---------------------------------------------------------------- my account
def test_the_account_page_needs_a_signed_in_user(client: Any, cast: Cast) -> None:
    response = client.get("/account", follow_redirects=False)
    assert response.status_code in (303, 401)
    if response.status_code == 401:
        assert 'class="button primary" href="/login?next=/account"' in response.text


def test_the_account_page_shows_the_user_and_their_organisations(client: Any, cast: Cast) -> None:
    auth.sign_in(client, "admin-a")
    html = client.get("/account?lang=en").text
    assert "admin-a" in html and "示例大学" in html and "Organisation admin" in html
    assert f'href="/organizations/{cast.university}/members"' in html


def test_the_display_name_can_be_changed(client: Any, cast: Cast) -> None:
    auth.sign_in(client, "officer-a")
    assert _post(client, "/account/profile", {"display_name": "李老师"}).status_code == 303
    assert "李老师" in client.get("/").text  # the header shows it
    empty = _post(client, "/account/profile", {"display_name": "  "})
    assert empty.status_code == 422 and "此项为必填项。" in empty.text


def test_changing_the_password_checks_the_current_one_and_the_policy(
    client: Any, cast: Cast
) -> None:
    auth.sign_in(client, "officer-a")
    client.cookies.set("shelfbridge_lang", "en")
    wrong = _post(
        client,
        "/account/password",
        {"current_password": "nope", "new_password": "short", "new_password_again": "other"},
    )
    assert wrong.status_code == 422
    for message in (
        "The current password is wrong.",
        "Use at least 12 characters (this one has 5).",
        "The two new passwords are not the same.",
    ):
        assert message in wrong.text


def test_a_new_password_ends_the_other_sessions_but_not_this_one(
    app: Any, client: Any, database: Any, cast: Cast
) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app) as elsewhere:
        auth.sign_in(elsewhere, "officer-a")
        auth.sign_in(client, "officer-a")
        new = "a-brand-new-secret-77"
        form = {"current_password": auth.PASSWORD, "new_password": new, "new_password_again": new}
        assert _post(client, "/account/password", form).status_code == 303
        assert client.get("/account").status_code == 200
        assert elsewhere.get("/account", follow_redirects=False).status_code in (303, 401)
    with database.unit_of_work(write=False) as session:
        live = session.scalars(select(WebSession).where(WebSession.ended_at.is_(None))).all()
    assert len(live) == 1
    client.post("/logout", data=auth.with_csrf(client))
    auth.sign_in(client, "officer-a", new)


def test_a_token_made_on_the_page_is_shown_once_then_only_its_prefix(
    client: Any, database: Any, cast: Cast
) -> None:
    auth.sign_in(client, "officer-a")
    made = _post(client, "/account/tokens", {"name": "报表脚本"})
    assert made.status_code == 201
    token = re.search(r"<code[^>]*data-token>(sb_[^<]+)</code>", made.text)
    assert token is not None
    secret = token.group(1)
    assert client.get("/api/v1/auth/me", headers=auth.bearer(secret)).status_code == 200
    page = client.get("/account").text
    assert secret not in page and secret[:10] in page and "报表脚本" in page

    with database.unit_of_work(write=False) as session:
        token_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "报表脚本"))
    assert _post(client, f"/account/tokens/{token_id}/revoke").status_code == 303
    assert client.get("/api/v1/auth/me", headers=auth.bearer(secret)).status_code == 401
    assert secret[:10] not in client.get("/account").text


# ---------------------------------------------------------------- organisation members
def test_an_org_admin_adds_changes_and_removes_members(
    client: Any, database: Any, cast: Cast
) -> None:
    auth.sign_in(client, "admin-a")
    base = f"/organizations/{cast.university}/members"
    page = client.get(base)
    assert page.status_code == 200 and "officer-a" in page.text

    assert _post(client, base, {"username": "loner", "role": "researcher"}).status_code == 303
    assert _members(database, cast.university)["loner"] == "researcher"

    with database.unit_of_work(write=False) as session:
        membership_id = session.scalar(select(Membership.id).where(Membership.role == "researcher"))
    changed = _post(client, f"{base}/{membership_id}/role", {"role": "tto_officer"})
    assert changed.status_code == 303
    assert _members(database, cast.university)["loner"] == "tto_officer"

    assert _post(client, f"{base}/{membership_id}/remove").status_code == 303
    assert "loner" not in _members(database, cast.university)
    with database.unit_of_work(write=False) as session:
        ended = session.get(Membership, membership_id)
        assert ended is not None and ended.ended_at is not None  # ended, not deleted


def test_adding_an_unknown_user_or_a_role_twice_is_explained(client: Any, cast: Cast) -> None:
    auth.sign_in(client, "admin-a")
    client.cookies.set("shelfbridge_lang", "en")
    base = f"/organizations/{cast.university}/members"
    unknown = _post(client, base, {"username": "ghost", "role": "researcher"})
    assert unknown.status_code == 422 and "No active user has this username." in unknown.text
    twice = _post(client, base, {"username": "officer-a", "role": "tto_officer"})
    assert twice.status_code == 409 and "already has this role" in twice.text
    bad_role = _post(client, base, {"username": "loner", "role": "emperor"})
    assert bad_role.status_code == 422 and "Unknown role" in bad_role.text


def test_the_last_admin_cannot_be_removed_or_demoted(
    client: Any, database: Any, cast: Cast
) -> None:
    auth.sign_in(client, "admin-a")
    base = f"/organizations/{cast.university}/members"
    with database.unit_of_work(write=False) as session:
        admin = session.scalar(select(Membership.id).where(Membership.role == "org_admin"))
    assert _post(client, f"{base}/{admin}/remove").status_code == 409
    assert _post(client, f"{base}/{admin}/role", {"role": "researcher"}).status_code == 409
    assert _members(database, cast.university)["admin-a"] == "org_admin"


def test_others_may_not_manage_members(client: Any, database: Any, cast: Cast) -> None:
    auth.sign_in(client, "officer-a")  # an officer, not an admin, of the university
    base = f"/organizations/{cast.university}/members"
    assert client.get(base).status_code == 403
    assert _post(client, base, {"username": "loner", "role": "org_admin"}).status_code == 403
    assert "loner" not in _members(database, cast.university)
    with database.unit_of_work(write=False) as session:
        events = session.scalars(
            select(SecurityEvent).where(SecurityEvent.action == "denied")
        ).all()
    assert any(e.actor == "user:officer-a" and e.target_id == cast.university for e in events)


def test_an_admin_of_one_organisation_cannot_manage_another(client: Any, cast: Cast) -> None:
    auth.sign_in(client, "admin-a")
    base = f"/organizations/{cast.enterprise}/members"
    assert client.get(base).status_code == 403
    assert _post(client, base, {"username": "admin-a", "role": "org_admin"}).status_code == 403


def test_a_platform_admin_manages_any_organisation(client: Any, database: Any, cast: Cast) -> None:
    auth.sign_in(client, "root")
    base = f"/organizations/{cast.enterprise}/members"
    assert client.get(base).status_code == 200
    assert _post(client, base, {"username": "loner", "role": "org_admin"}).status_code == 303
    assert _members(database, cast.enterprise)["loner"] == "org_admin"
    assert client.get("/organizations/999999/members").status_code == 404


def test_a_membership_of_another_organisation_is_not_found_here(
    client: Any, database: Any, cast: Cast
) -> None:
    auth.sign_in(client, "admin-a")
    with database.unit_of_work(write=False) as session:
        theirs = session.scalar(select(Membership.id).where(Membership.role == "enterprise_user"))
    base = f"/organizations/{cast.university}/members"
    assert _post(client, f"{base}/{theirs}/remove").status_code == 404
    assert _members(database, cast.enterprise)["user-e"] == "enterprise_user"

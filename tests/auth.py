"""Signing in from tests: users, CSRF tokens, sessions and API tokens, all through the real
pages and API (so the tests exercise what a browser or a program does)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from shelfbridge.accounts import service
from shelfbridge.accounts.repository import organization_by_external_id

PASSWORD = "correct-horse-battery-9"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"|"X-CSRF-Token": "([^"]+)"')


def create_user(
    database: Any,
    username: str,
    *,
    password: str = PASSWORD,
    admin: bool = False,
    memberships: Iterable[tuple[str, str]] = (),
    display_name: str | None = None,
) -> int:
    """A user with (organisation external_id, role) memberships; returns the user's id."""
    with database.unit_of_work() as session:
        user = service.create_user(
            session, username, password, display_name=display_name, is_platform_admin=admin
        )
        for external_id, role in memberships:
            organization = organization_by_external_id(session, external_id)
            assert organization is not None, external_id
            service.grant(session, user, organization, role)
        return int(user.id)


def csrf_token(client: Any, path: str = "/") -> str:
    """The CSRF token a page gives this client (its session's, or the anonymous one)."""
    html = client.get(path).text
    found = _TOKEN.search(html)
    assert found, f"no CSRF token on {path}"
    return found.group(1) or found.group(2)


def with_csrf(client: Any, data: dict[str, Any] | None = None, path: str = "/") -> dict[str, Any]:
    """Form data with this client's CSRF token added."""
    return {**(data or {}), "csrf_token": csrf_token(client, path)}


def sign_in(client: Any, username: str, password: str = PASSWORD) -> Any:
    response = client.post(
        "/login",
        data=with_csrf(client, {"username": username, "password": password}, "/login"),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response


def api_token(client: Any, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

"""CSRF: every unsafe page request needs this visitor's token; bearer-token requests do not."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy import func, select

from shelfbridge.accounts.csrf import csrf_protect
from shelfbridge.accounts.models import SecurityEvent
from shelfbridge.registry.models import Organization
from tests import auth
from tests.accounts.conftest import Cast

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "shelfbridge" / "web" / "templates"
NEW_ORGANIZATION = {"name": "新建研究院", "kind": "research_institute", "external_id": "ORG-NEW"}


def _organizations(database: Any) -> int:
    with database.unit_of_work(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Organization)) or 0)


def _denials(database: Any) -> list[SecurityEvent]:
    with database.unit_of_work(write=False) as session:
        return list(session.scalars(select(SecurityEvent).where(SecurityEvent.action == "denied")))


def test_a_form_without_the_token_is_refused_and_changes_nothing(
    client: Any, database: Any, cast: Cast
) -> None:
    auth.sign_in(client, "root")
    before = _organizations(database)
    response = client.post("/organizations/new", data=NEW_ORGANIZATION, follow_redirects=False)
    assert response.status_code == 403
    assert "表单已失效" in response.text and "<form" in response.text  # an HTML page
    assert _organizations(database) == before
    [event] = _denials(database)
    assert event.reason == "CSRF token missing" and event.actor == "user:root"
    assert event.method == "POST" and event.path == "/organizations/new"


def test_a_wrong_token_is_refused(client: Any, database: Any, cast: Cast) -> None:
    auth.sign_in(client, "root")
    data = {**NEW_ORGANIZATION, "csrf_token": "x" * 43}
    assert client.post("/organizations/new", data=data).status_code == 403
    assert _denials(database)[0].reason == "CSRF token wrong"
    assert _organizations(database) == 2


def test_the_right_token_in_the_form_or_the_htmx_header_works(
    client: Any, database: Any, cast: Cast
) -> None:
    auth.sign_in(client, "root")
    data = auth.with_csrf(client, NEW_ORGANIZATION)
    response = client.post("/organizations/new", data=data, follow_redirects=False)
    assert response.status_code == 303
    token = auth.csrf_token(client)
    other = {**NEW_ORGANIZATION, "external_id": "ORG-NEW-2", "name": "另一研究院"}
    response = client.post(
        "/organizations/new",
        data=other,
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert _organizations(database) == 4


def test_the_session_token_differs_from_the_anonymous_one(client: Any, cast: Cast) -> None:
    anonymous = auth.csrf_token(client)
    auth.sign_in(client, "root")
    signed_in = auth.csrf_token(client)
    assert anonymous != signed_in
    stale = {**NEW_ORGANIZATION, "csrf_token": anonymous}
    assert client.post("/organizations/new", data=stale).status_code == 403


def test_anonymous_forms_need_the_token_of_their_own_cookie(app: Any, cast: Cast) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app) as visitor, TestClient(app) as attacker:
        token = auth.csrf_token(attacker)  # valid, but for the attacker's cookie
        form = {"username": "root", "password": auth.PASSWORD}
        assert visitor.post("/login", data=form).status_code == 403
        visitor.get("/")  # the visitor gets a cookie of its own
        assert visitor.post("/login", data={**form, "csrf_token": token}).status_code == 403
        assert "shelfbridge_session" not in visitor.cookies
        good = auth.with_csrf(visitor, form)
        assert visitor.post("/login", data=good, follow_redirects=False).status_code == 303


def test_bearer_token_requests_need_no_csrf_token(client: Any, cast: Cast) -> None:
    token = auth.api_token(client, "root")
    response = client.post(
        "/organizations/new",
        data=NEW_ORGANIZATION,
        headers=auth.bearer(token),
        follow_redirects=False,
    )
    assert response.status_code == 303


def _dependencies(dependant: Any) -> list[Any]:
    found = []
    for sub in dependant.dependencies:
        found.append(sub.call)
        found.extend(_dependencies(sub))
    return found


def _routes(routes: list[Any]) -> list[Any]:
    """Every route with its effective path and dependencies (FastAPI keeps included routers
    as branches that it resolves lazily)."""
    found = []
    for route in routes:
        branches = getattr(route, "effective_candidates", None)
        if branches is not None:
            found.extend(_routes(branches()))
        elif isinstance(route, APIRoute) or getattr(route, "dependant", None) is not None:
            found.append(route)
    return found


def test_every_unsafe_page_route_checks_the_csrf_token(app: Any) -> None:
    unsafe = [
        route
        for route in _routes(app.routes)
        if not route.path.startswith("/api/")
        and set(route.methods or ()) & {"POST", "PUT", "PATCH", "DELETE"}
    ]
    assert len(unsafe) >= 15
    for route in unsafe:
        assert csrf_protect in _dependencies(route.dependant), route.path


def test_every_posting_form_of_every_template_carries_the_token() -> None:
    forms = 0
    for path in TEMPLATES.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<form\b[^>]*>", html):
            if 'method="post"' not in match.group(0):
                continue
            forms += 1
            rest = html[match.end() : html.find("</form>", match.end())]
            assert "csrf_field()" in rest, f"{path.name}: {match.group(0)}"
    assert forms >= 10
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    assert """hx-headers='{"X-CSRF-Token": "{{ csrf_token() }}"}'""" in base

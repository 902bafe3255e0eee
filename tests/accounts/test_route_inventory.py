"""Every route of the app (pages and API) has a row in the authorization matrix and a policy;
a new route without them fails the suite and is refused when called."""

from __future__ import annotations

from typing import Any

from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from shelfbridge.accounts import policy
from tests.accounts.matrix_support import ACTORS, load_matrix

IGNORED_METHODS = {"HEAD"}  # answered by Starlette for every GET route


def app_routes(app: Any) -> set[tuple[str, str, str]]:
    """(name, method, path) of every route, the mount of static files included."""
    found = set()
    for context in iter_route_contexts(app.routes):
        route = getattr(context, "original_route", None) or context
        name = getattr(route, "name", None) or getattr(context, "name", None)
        methods = set(getattr(route, "methods", None) or {"GET"}) - IGNORED_METHODS
        path = getattr(context, "path", None) or getattr(route, "path", "")
        for method in methods:
            found.add((str(name), method, str(path)))
    return found


def inventory_problems(app: Any) -> list[str]:
    matrix = {(row.route, row.method, row.path) for row in load_matrix()}
    problems = []
    for name, method, path in sorted(app_routes(app)):
        if (name, method, path) not in matrix:
            problems.append(f"{method} {path} ({name}) has no row in authorization_matrix.csv")
        if name not in policy.ROUTE_POLICIES:
            problems.append(f"{method} {path} ({name}) has no entry in policy.ROUTE_POLICIES")
    return problems


def test_every_route_has_a_matrix_row_and_a_policy(app: Any) -> None:
    assert inventory_problems(app) == []


def test_the_matrix_names_no_route_that_is_gone(app: Any) -> None:
    present = app_routes(app)
    stale = [row for row in load_matrix() if (row.route, row.method, row.path) not in present]
    assert stale == []


def test_every_matrix_row_has_a_cell_for_every_actor() -> None:
    rows = load_matrix()
    assert rows
    for row in rows:
        assert set(row.expected) == set(ACTORS), row.route
        assert all(100 <= status < 600 for status in row.expected.values()), row.route


def test_a_new_route_without_a_row_or_policy_is_reported_and_refused(
    settings: Any, database: Any
) -> None:
    from shelfbridge.web.app import create_app

    fresh = create_app(settings, database)

    @fresh.get("/mx-dummy", name="mx_dummy_route")
    def dummy() -> dict[str, str]:
        return {"secret": "should never be served"}

    problems = inventory_problems(fresh)
    assert any("mx_dummy_route" in p and "authorization_matrix" in p for p in problems)
    assert any("mx_dummy_route" in p and "ROUTE_POLICIES" in p for p in problems)
    assert "mx_dummy_route" not in policy.ROUTE_POLICIES
    with TestClient(fresh) as client:
        response = client.get("/mx-dummy")
    assert response.status_code == 403
    assert "should never be served" not in response.text

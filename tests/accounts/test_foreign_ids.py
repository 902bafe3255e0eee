"""Foreign ids and mass assignment: tenant B's officer replays every route that takes an id
with every id of tenant A (sharing grants included) and succeeds 0 times, leaving A's rows
unchanged; owner, shares, amounts and unknown fields cannot be set through the API or the
forms.

Public by design (a 200 on GET is expected, writes still fail): A's ``public`` result and
E1's ``public`` demand (their shares and money masked), university A itself and the people of
A (organisations and people are not tenant-scoped: the registry is public).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shelfbridge.accounts import sharing
from shelfbridge.core.schema import metadata
from tests import auth
from tests.accounts.matrix_support import (
    World,
    api_headers,
    build_world,
    new_demand,
    new_result,
    sign_everyone_in,
)

FINGERPRINTED = (
    "organizations",
    "people",
    "results",
    "result_contributors",
    "demands",
    "memberships",
    "sharing_grants",
)


@pytest.fixture
def world(app: Any, database: Any) -> World:
    built = build_world(database)
    with database.unit_of_work() as session:
        partners = new_result(session, built, "partners")
        built.records["result_partners_a"] = partners.id
        built.records["grant_a"] = sharing.give(session, partners, built.org_ext["e1"]).id
        built.records["demand_internal_e1_2"] = new_demand(session, built).id
    sign_everyone_in(app, built)
    return built


def fingerprint(database: Any) -> dict[str, list[tuple[Any, ...]]]:
    with database.unit_of_work() as session:
        return {
            name: sorted(
                (tuple(str(value) for value in row) for row in session.execute(select(table))),
            )
            for name, table in metadata.tables.items()
            if name in FINGERPRINTED
        }


def _a_records(world: World) -> list[tuple[str, int, bool]]:
    """(kind, id, public by design) of every record of tenant A."""
    r = world.records
    return [
        ("results", r["result_internal_a"], False),
        ("results", r["result_partners_a"], False),
        ("results", r["result_public_a"], True),
        ("demands", r["demand_internal_e1"], False),
        ("demands", r["demand_internal_e1_2"], False),
        ("demands", r["demand_public_e1"], True),
        ("people", r["person_a"], True),
        ("organizations", world.org_ids["a"], True),
        ("organizations", world.org_ids["e1"], True),
    ]


def test_tenant_b_replays_every_id_of_tenant_a_and_succeeds_0_times(
    app: Any, database: Any, world: World
) -> None:
    assert set(FINGERPRINTED) <= set(metadata.tables)
    before = fingerprint(database)
    api = TestClient(app)
    page = world.pages["officer_b"]
    headers = api_headers(world, "officer_b")
    successes, calls = [], 0
    for kind, ident, public in _a_records(world):
        key = "name" if kind in ("organizations", "people") else "title"
        api_calls = [
            ("GET", f"/api/v1/{kind}/{ident}", None),
            ("PATCH", f"/api/v1/{kind}/{ident}", {key: "B 改写"}),
            ("PATCH", f"/api/v1/{kind}/{ident}", {"confidentiality": "public"}),
            ("DELETE", f"/api/v1/{kind}/{ident}", None),
        ]
        for method, path, body in api_calls:
            if kind in ("organizations", "people") and body and "confidentiality" in body:
                continue
            response = api.request(method, path, json=body, headers=headers)
            calls += 1
            if response.is_success and not (public and method == "GET"):
                successes.append(f"{method} {path}: {response.status_code}")
        for suffix in ("", "/edit", "/delete"):
            response = page.get(f"/{kind}/{ident}{suffix}", follow_redirects=False)
            calls += 1
            if response.is_success and not public:
                successes.append(f"GET /{kind}/{ident}{suffix}: {response.status_code}")
        forms: list[tuple[str, dict[str, str]]] = [
            ("/edit", {key: "B 改写", "owner": world.org_ext["b"]}),
            ("/delete", {}),
        ]
        if kind in ("results", "demands"):  # sharing grants: give B one, withdraw A's
            forms.append(("/sharing", {"organization": world.org_ext["b"]}))
            forms.append((f"/sharing/{world.records['grant_a']}/withdraw", {}))
        for suffix, data in forms:
            form = auth.with_csrf(page, data)
            response = page.post(f"/{kind}/{ident}{suffix}", data=form, follow_redirects=False)
            calls += 1
            if response.is_success or response.is_redirect:
                successes.append(f"POST /{kind}/{ident}{suffix}: {response.status_code}")
    # organisation members of A (the membership ids of A's people)
    a = world.org_ids["a"]
    response = page.get(f"/organizations/{a}/members", follow_redirects=False)
    calls += 1
    if response.is_success:
        successes.append(f"GET /organizations/{a}/members: {response.status_code}")
    for membership_id in range(1, 12):
        for action, data in (("role", {"role": "org_admin"}), ("remove", {})):
            path = f"/organizations/{a}/members/{membership_id}/{action}"
            response = page.post(path, data=auth.with_csrf(page, data), follow_redirects=False)
            calls += 1
            if response.is_success or response.is_redirect:
                successes.append(f"POST {path}: {response.status_code}")
    response = page.post(
        f"/organizations/{a}/members",
        data=auth.with_csrf(page, {"username": "mx-officer-b", "role": "org_admin"}),
        follow_redirects=False,
    )
    calls += 1
    if response.is_success or response.is_redirect:
        successes.append(f"POST /organizations/{a}/members: {response.status_code}")
    assert calls > 100
    assert successes == []
    assert fingerprint(database) == before


def _api(app: Any, world: World, actor: str, method: str, path: str, body: Any) -> Any:
    return TestClient(app).request(method, path, json=body, headers=api_headers(world, actor))


def test_mass_assignment_through_the_api_is_refused(app: Any, database: Any, world: World) -> None:
    r, ext = world.records, world.org_ext
    public_result, public_demand = r["result_public_a"], r["demand_public_e1"]
    cases = [
        # (actor, method, path, body, allowed statuses)
        (
            "officer_b",
            "POST",
            "/api/v1/results",
            {"kind": "paper", "title": "x", "owner": ext["a"]},
            {422},
        ),
        (
            "enterprise_e2",
            "POST",
            "/api/v1/demands",
            {"enterprise": ext["e1"], "title": "x", "description": "y"},
            {422},
        ),
        ("officer_b", "POST", "/api/v1/people", {"name": "x", "organization": ext["a"]}, {422}),
        ("officer_a", "POST", "/api/v1/organizations", {"name": "x", "kind": "university"}, {403}),
        ("officer_a", "PATCH", f"/api/v1/results/{public_result}", {"owner": ext["b"]}, {422}),
        (
            "enterprise_e1",
            "PATCH",
            f"/api/v1/demands/{public_demand}",
            {"enterprise": ext["e2"]},
            {422},
        ),
        ("officer_b", "PATCH", f"/api/v1/results/{public_result}", {"owner": ext["b"]}, {403}),
        (
            "officer_b",
            "PATCH",
            f"/api/v1/results/{public_result}",
            {"status": "transferred"},
            {403},
        ),
        (
            "officer_b",
            "PATCH",
            f"/api/v1/results/{public_result}",
            {"contributors": [{"name": "乙", "share": "100"}]},
            {403},
        ),
        (
            "researcher_a",
            "PATCH",
            f"/api/v1/results/{public_result}",
            {"contributors": [{"name": "乙", "share": "100"}]},
            {403},
        ),
        ("officer_a", "PATCH", f"/api/v1/demands/{public_demand}", {"budget_max": "1.00"}, {403}),
        (
            "enterprise_e2",
            "PATCH",
            f"/api/v1/demands/{public_demand}",
            {"budget_min": "1.00"},
            {403},
        ),
        (
            "officer_a",
            "PATCH",
            f"/api/v1/people/{r['person_a']}",
            {"organization": ext["b"]},
            {422},
        ),
    ]
    for field in ("owner_org_id", "id", "created_at", "updated_at", "enterprise_id"):
        cases.append(("officer_a", "PATCH", f"/api/v1/results/{public_result}", {field: 1}, {422}))
        cases.append(
            (
                "officer_a",
                "POST",
                "/api/v1/results",
                {"kind": "paper", "title": "x", "owner": ext["a"], field: 1},
                {422},
            )
        )
    before = fingerprint(database)
    wrong = []
    for actor, method, path, body, allowed in cases:
        response = _api(app, world, actor, method, path, body)
        if response.status_code not in allowed:
            wrong.append(
                f"{actor} {method} {path} {body}: {response.status_code} {response.text[:200]}"
            )
    assert wrong == []
    assert fingerprint(database) == before


def test_mass_assignment_through_the_forms_is_refused(
    app: Any, database: Any, world: World
) -> None:
    r, ext = world.records, world.org_ext
    public_result = r["result_public_a"]
    before = fingerprint(database)
    cases = [
        ("officer_b", "/results/new", {"kind": "paper", "title": "x", "owner": ext["a"]}, {422}),
        (
            "enterprise_e2",
            "/demands/new",
            {"enterprise": ext["e1"], "title": "x", "description": "y"},
            {422},
        ),
        ("officer_a", "/organizations/new", {"name": "x", "kind": "university"}, {403}),
        ("officer_b", f"/results/{public_result}/edit", {"title": "x", "owner": ext["b"]}, {403}),
        (
            "researcher_a",
            f"/results/{public_result}/edit",
            {"title": "x", "contributors": "乙:100"},
            {403},
        ),
        (
            "officer_a",
            f"/demands/{r['demand_public_e1']}/edit",
            {"title": "x", "budget_max": "1.00"},
            {403},
        ),
        (
            "officer_a",
            f"/results/{public_result}/edit",
            {"kind": "paper", "title": "x", "owner": ext["b"]},
            {422},
        ),
    ]
    wrong = []
    for actor, path, data, allowed in cases:
        client = world.pages[actor]
        response = client.post(path, data=auth.with_csrf(client, data), follow_redirects=False)
        if response.status_code not in allowed:
            wrong.append(f"{actor} POST {path} {data}: {response.status_code}")
    assert wrong == []
    assert fingerprint(database) == before
